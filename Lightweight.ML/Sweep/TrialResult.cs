namespace Lightweight.ML;

/// <summary>One finished trial of an <see cref="ImageClassificationExperiment"/>: its settings, validation metrics, cost and timing.</summary>
public sealed record TrialResult
{
    /// <summary>Trial number, from 1, in the order the trials first ran.</summary>
    public required int Id { get; init; }

    /// <summary>What was trained.</summary>
    public required TrialSettings Settings { get; init; }

    /// <summary>How the trial ended.</summary>
    public required TrialStatus Status { get; init; }

    /// <summary>The learning rate actually used (the trainer's default resolved).</summary>
    public double LearningRate { get; init; }

    /// <summary>Best validation top-1 accuracy over the epochs (the returned weights are that epoch's); NaN when diverged.</summary>
    public double ValidationAccuracy { get; init; } = double.NaN;

    /// <summary>Validation top-5 accuracy at the best epoch.</summary>
    public double? ValidationTop5 { get; init; }

    /// <summary>Validation cross-entropy at the best epoch.</summary>
    public double? ValidationLoss { get; init; }

    /// <summary>Epoch with the best validation accuracy, from 1.</summary>
    public int BestEpoch { get; init; }

    /// <summary>Parameters of the network.</summary>
    public long Parameters { get; init; }

    /// <summary>Multiply-adds per image at the trained input size, in millions.</summary>
    public double MFlops { get; init; }

    /// <summary>Median single-image forward latency on this machine, in milliseconds.</summary>
    public double SingleImageMilliseconds { get; init; }

    /// <summary>Median batch forward time per image on this machine, in milliseconds.</summary>
    public double BatchMillisecondsPerImage { get; init; }

    /// <summary>Wall time of <c>Fit</c>, in seconds (data decoding included).</summary>
    public double TrainingSeconds { get; init; }

    /// <summary>Why the trial did not complete, when it did not.</summary>
    public string? Error { get; init; }

    /// <summary>The trial's saved model (<c>SavePipeline</c> file), when the experiment has an output folder.</summary>
    public string? ModelPath { get; init; }
}

namespace Lightweight.ML;

/// <summary>
/// Settings of an <see cref="ImageClassificationExperiment"/>: which models and hyper-parameters to try, for how long,
/// and how to pick the best, in the spirit of ML.NET AutoML's experiment settings.
/// </summary>
public sealed class ImageClassificationExperimentSettings
{
    /// <summary>Models to try, by <see cref="ModelNames"/> (e.g. <c>shufflenetv2-0.5x</c>). Default <see cref="ModelNames.Standard"/>.</summary>
    public IReadOnlyList<string> Models { get; set; } = ModelNames.Standard;

    /// <summary>Peak learning rates to try; <c>null</c> in the list means the trainer's default. Default <c>[null]</c>.</summary>
    public IReadOnlyList<double?> LearningRates { get; set; } = [null];

    /// <summary>Label smoothing values to try. Default <c>[0.1]</c>.</summary>
    public IReadOnlyList<double> LabelSmoothings { get; set; } = [0.1];

    /// <summary>Epochs of a fully trained trial (the last rung of successive halving). Default 10; at least 1.</summary>
    public int Epochs { get; set; } = 10;

    /// <summary>
    /// Successive halving: every candidate first trains for this many epochs; the best 1/<see cref="ReductionFactor"/>
    /// of them train again (from scratch, so every schedule runs to its end) for <see cref="ReductionFactor"/> times as
    /// many epochs, and so on up to <see cref="Epochs"/>. Default <c>null</c>: a quarter of <see cref="Epochs"/> (at least
    /// 1). Equal to <see cref="Epochs"/>: no halving, every candidate trains fully.
    /// </summary>
    public int? MinEpochs { get; set; }

    /// <summary>Keep the best 1/this of the candidates at each rung, and multiply their epochs by it. Default 3; at least 2.</summary>
    public int ReductionFactor { get; set; } = 3;

    /// <summary>Wall-clock budget of <see cref="ImageClassificationExperiment.Execute"/>; the running trial is stopped when it ends. Default 20 minutes.</summary>
    public TimeSpan MaxExperimentTime { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>Stops the experiment within one training batch; <c>Execute</c> then throws <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>How <see cref="ImageClassificationExperimentResult.BestTrial"/> is chosen. Default <see cref="SweepObjective.Accuracy"/>.</summary>
    public SweepObjective Objective { get; set; } = SweepObjective.Accuracy;

    /// <summary>Single-image latency budget in milliseconds for <see cref="SweepObjective.AccuracyUnderLatency"/>.</summary>
    public double? MaxLatencyMilliseconds { get; set; }

    /// <summary>Parameter budget for <see cref="SweepObjective.AccuracyUnderSize"/>.</summary>
    public long? MaxParameters { get; set; }

    /// <summary>
    /// Sets everything the sweep does not vary (image size, batch size, augmentation, channels, columns, threads...) on
    /// each trial's fresh options. Model, learning rate, label smoothing, epochs, seed, validation, progress and
    /// cancellation are then set by the sweep. Default <c>null</c>: the trainers' defaults.
    /// </summary>
    public Action<ImageClassificationTrainerOptions>? ConfigureTrainer { get; set; }

    /// <summary>
    /// Fraction of the training data held out (stratified, the same images for every trial) to rank the trials when
    /// <c>Execute</c> gets no validation set. Default 0.2; in (0, 0.5].
    /// </summary>
    public double ValidationFraction { get; set; } = 0.2;

    /// <summary>Seed of every trial (weights, shuffling, hold-out), so trials differ only in what is swept. Default 1.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Batch size of the batch-latency measurement. Default 32.</summary>
    public int LatencyBatchSize { get; set; } = 32;

    /// <summary>
    /// Folder for the results, written as trials finish: <c>trials.json</c> (read back to resume), <c>trials.csv</c>,
    /// <c>pareto.png</c> (validation accuracy against latency, with the Pareto front), and each finished trial's model
    /// as <c>models/trial-N.zip</c> (a <c>SavePipeline</c> file). Running again with the same folder and settings skips the
    /// trials already finished. Default <c>null</c>: nothing is written and nothing resumed.
    /// </summary>
    public string? OutputDirectory { get; set; }

    /// <summary>Receives a report when a trial starts, after each of its epochs, and when it ends. Default <c>null</c>.</summary>
    public IProgress<SweepProgress>? Progress { get; set; }

    internal int EffectiveMinEpochs => Math.Min(Epochs, MinEpochs ?? Math.Max(1, Epochs / 4));

    /// <summary>Checks every setting; throws an <see cref="ArgumentException"/> naming the first bad one.</summary>
    public void Validate()
    {
        if (Models is null || Models.Count == 0)
            throw new ArgumentException("Models must name at least one model.", nameof(Models));
        foreach (var model in Models)
        {
            try { ModelNames.CreateOptions(model); }
            catch (ArgumentException e) { throw new ArgumentException($"Models: {e.Message}", nameof(Models), e); }
        }
        if (Models.Select(m => ModelNames.Of(ModelNames.CreateOptions(m))).Distinct().Count() != Models.Count)
            throw new ArgumentException($"Models lists a model twice: {string.Join(", ", Models)}.", nameof(Models));
        if (LearningRates is null || LearningRates.Count == 0)
            throw new ArgumentException("LearningRates must hold at least one value (null for the trainer's default).", nameof(LearningRates));
        if (LearningRates.Any(lr => lr is { } v && !(v > 0 && double.IsFinite(v))))
            throw new ArgumentOutOfRangeException(nameof(LearningRates), $"LearningRates must be positive and finite; got [{string.Join(", ", LearningRates)}].");
        if (LabelSmoothings is null || LabelSmoothings.Count == 0)
            throw new ArgumentException("LabelSmoothings must hold at least one value.", nameof(LabelSmoothings));
        if (LabelSmoothings.Any(v => !(v >= 0 && v < 1)))
            throw new ArgumentOutOfRangeException(nameof(LabelSmoothings), $"LabelSmoothings must be in [0, 1); got [{string.Join(", ", LabelSmoothings)}].");
        if (Epochs < 1)
            throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs must be at least 1.");
        if (MinEpochs is < 1 || MinEpochs > Epochs)
            throw new ArgumentOutOfRangeException(nameof(MinEpochs), MinEpochs, $"MinEpochs must be in [1, Epochs={Epochs}].");
        if (ReductionFactor < 2)
            throw new ArgumentOutOfRangeException(nameof(ReductionFactor), ReductionFactor, "ReductionFactor must be at least 2.");
        if (MaxExperimentTime <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(MaxExperimentTime), MaxExperimentTime, "MaxExperimentTime must be positive.");
        if (!Enum.IsDefined(Objective))
            throw new ArgumentOutOfRangeException(nameof(Objective), Objective, $"Unknown objective; expected one of {string.Join(", ", Enum.GetNames<SweepObjective>())}.");
        if (Objective == SweepObjective.AccuracyUnderLatency && !(MaxLatencyMilliseconds is { } ms && ms > 0 && double.IsFinite(ms)))
            throw new ArgumentException("Objective AccuracyUnderLatency needs a positive MaxLatencyMilliseconds.", nameof(MaxLatencyMilliseconds));
        if (Objective == SweepObjective.AccuracyUnderSize && !(MaxParameters is > 0))
            throw new ArgumentException("Objective AccuracyUnderSize needs a positive MaxParameters.", nameof(MaxParameters));
        if (!(ValidationFraction > 0 && ValidationFraction <= 0.5))
            throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, "ValidationFraction must be in (0, 0.5].");
        if (LatencyBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(LatencyBatchSize), LatencyBatchSize, "LatencyBatchSize must be at least 1.");
        if (OutputDirectory is not null && string.IsNullOrWhiteSpace(OutputDirectory))
            throw new ArgumentException("OutputDirectory must be a folder path, or null to write nothing.", nameof(OutputDirectory));
    }
}

namespace Lightweight.ML;

/// <summary>What an image-classification sweep tries to find.</summary>
public enum SweepObjective
{
    /// <summary>The most accurate trial (validation top-1).</summary>
    Accuracy,

    /// <summary>
    /// The most accurate trial whose single-image latency is at most
    /// <see cref="ImageClassificationExperimentSettings.MaxLatencyMilliseconds"/>; slower models are not trained.
    /// </summary>
    AccuracyUnderLatency,

    /// <summary>
    /// The most accurate trial with at most <see cref="ImageClassificationExperimentSettings.MaxParameters"/> parameters;
    /// larger models are not trained.
    /// </summary>
    AccuracyUnderSize,
}

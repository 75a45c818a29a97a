namespace Lightweight.ML;

/// <summary>
/// What <see cref="LearningRateScheduleKind.ReduceOnPlateau"/> watches. Both need the trainer's validation set; without
/// one the mean training loss of the epoch is watched instead (lower is better).
/// </summary>
public enum PlateauMetric
{
    /// <summary>Top-1 validation accuracy; higher is better (PyTorch's <c>mode='max'</c>). The default.</summary>
    ValidationAccuracy,

    /// <summary>Validation cross-entropy; lower is better (PyTorch's <c>mode='min'</c>).</summary>
    ValidationLoss,
}

namespace Lightweight.ML.Training;

/// <summary>Validation results of one epoch.</summary>
/// <param name="Loss">Mean cross-entropy (no label smoothing).</param>
/// <param name="Top1">Top-1 accuracy.</param>
/// <param name="Top5">Top-5 accuracy (top-K when there are fewer than 5 classes, so 1).</param>
/// <param name="Confusion">Counts: row = true class, column = predicted class.</param>
internal sealed record Evaluation(double Loss, double Top1, double Top5, long[,] Confusion)
;

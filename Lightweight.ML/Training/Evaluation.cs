namespace Lightweight.ML.Training;

/// <summary>Validation results of one epoch.</summary>
/// <param name="Loss">Mean cross-entropy (no label smoothing).</param>
/// <param name="Top1">Top-1 accuracy.</param>
/// <param name="Top5">Top-5 accuracy (top-K when there are fewer than 5 classes, so 1).</param>
/// <param name="Confusion">Counts: row = true class, column = predicted class.</param>
internal sealed record Evaluation(double Loss, double Top1, double Top5, long[,] Confusion)
{
    /// <summary>Accuracy of each class (recall); NaN for a class with no validation image.</summary>
    public double[] PerClassAccuracy()
    {
        int k = Confusion.GetLength(0);
        var result = new double[k];
        for (int i = 0; i < k; i++)
        {
            long total = 0;
            for (int j = 0; j < k; j++) total += Confusion[i, j];
            result[i] = total == 0 ? double.NaN : (double)Confusion[i, i] / total;
        }
        return result;
    }
}

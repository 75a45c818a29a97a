using static TorchSharp.torch;

namespace Lightweight.ML.Training.Reporting;

/// <summary>Confusion matrices as <c>long[true class, predicted class]</c> counts.</summary>
internal static class ConfusionMatrix
{
    /// <summary>Adds one batch to <paramref name="counts"/>: <paramref name="truth"/> and <paramref name="predicted"/> are
    /// int64 class indices of the same length, on any device.</summary>
    public static void Add(long[,] counts, Tensor truth, Tensor predicted)
    {
        int classes = counts.GetLength(0);
        if (counts.GetLength(1) != classes)
            throw new ArgumentException($"The confusion matrix must be square; it is {classes}×{counts.GetLength(1)}.", nameof(counts));
        using var scope = NewDisposeScope();
        var cells = (truth.to(ScalarType.Int64) * classes + predicted.to(ScalarType.Int64)).cpu();
        var histogram = bincount(cells, minlength: classes * classes).data<long>().ToArray();
        if (histogram.Length != classes * classes)
            throw new ArgumentException($"A class index is outside [0, {classes}).", nameof(truth));
        for (int i = 0; i < histogram.Length; i++) counts[i / classes, i % classes] += histogram[i];
    }

    /// <summary>Per-class accuracy (recall): the diagonal over each row's total; NaN for a class with no examples.</summary>
    public static double[] PerClassAccuracy(long[,] counts)
    {
        int classes = counts.GetLength(0);
        var accuracy = new double[classes];
        for (int t = 0; t < classes; t++)
        {
            long total = 0;
            for (int p = 0; p < counts.GetLength(1); p++) total += counts[t, p];
            accuracy[t] = total == 0 ? double.NaN : (double)counts[t, t] / total;
        }
        return accuracy;
    }
}

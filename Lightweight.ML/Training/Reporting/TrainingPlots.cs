using System.Globalization;
using OxyPlot;
using OxyPlot.Annotations;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using OxyPlot.SkiaSharp;

namespace Lightweight.ML.Training.Reporting;

/// <summary>The PNG plots of a training report, drawn with OxyPlot and each replaced atomically.</summary>
internal static class TrainingPlots
{
    /// <summary>Pixel width of the loss, accuracy and learning-rate plots.</summary>
    public const int Width = 900;

    /// <summary>Pixel height of the loss, accuracy and learning-rate plots.</summary>
    public const int Height = 600;

    /// <summary>Largest class count whose confusion-matrix cells show their counts.</summary>
    public const int MaxClassesWithCounts = 20;

    /// <summary>Pixel side of the (square) confusion-matrix plot for <paramref name="classes"/> classes.</summary>
    public static int ConfusionSide(int classes) => Math.Clamp(250 + 40 * classes, 700, 2400);

    /// <summary>Training and validation loss against the epoch.</summary>
    public static void WriteLoss(string path, IReadOnlyList<EpochMetrics> history)
    {
        var model = LineModel("Loss", "loss", null);
        model.Series.Add(Line("train", history, m => m.TrainLoss));
        if (history.Any(m => m.ValidationLoss is not null)) model.Series.Add(Line("validation", history, m => m.ValidationLoss));
        Export(model, path, Width, Height);
    }

    /// <summary>Training, validation and validation top-5 accuracy (in %) against the epoch.</summary>
    public static void WriteAccuracy(string path, IReadOnlyList<EpochMetrics> history)
    {
        var model = LineModel("Accuracy", "accuracy (%)", (0, 100));
        model.Series.Add(Line("train", history, m => 100 * m.TrainAccuracy));
        if (history.Any(m => m.ValidationAccuracy is not null))
            model.Series.Add(Line("validation", history, m => 100 * m.ValidationAccuracy));
        if (history.Any(m => m.ValidationTop5 is not null))
            model.Series.Add(Line("validation top-5", history, m => 100 * m.ValidationTop5));
        Export(model, path, Width, Height);
    }

    /// <summary>The learning rate at the end of each epoch.</summary>
    public static void WriteLearningRate(string path, IReadOnlyList<EpochMetrics> history)
    {
        var model = LineModel("Learning rate (end of epoch)", "learning rate", null);
        model.Series.Add(Line("lr", history, m => m.LearningRate));
        model.IsLegendVisible = false;
        Export(model, path, Width, Height);
    }

    /// <summary>A heat map of <paramref name="counts"/> (rows: true class, columns: predicted class) coloured by the
    /// fraction of each true class, with counts in the cells for up to <see cref="MaxClassesWithCounts"/> classes and
    /// each true class labelled with its accuracy.</summary>
    public static void WriteConfusion(string path, long[,] counts, IReadOnlyList<string> classNames, int epoch)
    {
        int n = classNames.Count;
        var accuracy = ConfusionMatrix.PerClassAccuracy(counts);
        var fraction = new double[n, n]; // [predicted, true]: OxyPlot's heat map indexes data by [x, y]
        for (int t = 0; t < n; t++)
        {
            long total = 0;
            for (int p = 0; p < n; p++) total += counts[t, p];
            for (int p = 0; p < n; p++) fraction[p, t] = total == 0 ? 0 : (double)counts[t, p] / total;
        }

        var model = new PlotModel { Title = $"Confusion matrix (validation, epoch {epoch})", Background = OxyColors.White };
        int step = Math.Max(1, (int)Math.Ceiling(n / 60.0));
        var predicted = new CategoryAxis
        {
            Position = AxisPosition.Bottom, Title = "predicted class", Angle = n > 6 ? -45 : 0, MajorStep = step,
        };
        predicted.Labels.AddRange(classNames);
        var truth = new CategoryAxis
        {
            Position = AxisPosition.Left, Title = "true class (accuracy)", StartPosition = 1, EndPosition = 0, MajorStep = step,
        };
        truth.Labels.AddRange(classNames.Select((name, t) => double.IsNaN(accuracy[t])
            ? $"{name} (—)" : string.Create(CultureInfo.InvariantCulture, $"{name} ({100 * accuracy[t]:0}%)")));
        model.Axes.Add(predicted);
        model.Axes.Add(truth);
        model.Axes.Add(new LinearColorAxis
        {
            Position = AxisPosition.Right, Minimum = 0, Maximum = 1, Title = "fraction of the true class",
            Palette = OxyPalette.Interpolate(256, OxyColors.White, OxyColor.FromRgb(8, 48, 107)),
        });
        model.Series.Add(new HeatMapSeries
        {
            X0 = 0, X1 = n - 1, Y0 = 0, Y1 = n - 1, Data = fraction,
            CoordinateDefinition = HeatMapCoordinateDefinition.Center, Interpolate = false,
            // One rectangle per cell is crisp but slow for thousands of cells; an image is fast at any size.
            RenderMethod = n <= 100 ? HeatMapRenderMethod.Rectangles : HeatMapRenderMethod.Bitmap,
        });
        if (n <= MaxClassesWithCounts)
        {
            for (int t = 0; t < n; t++)
            for (int p = 0; p < n; p++)
                model.Annotations.Add(new TextAnnotation
                {
                    Text = counts[t, p].ToString(CultureInfo.InvariantCulture), TextPosition = new DataPoint(p, t),
                    TextHorizontalAlignment = HorizontalAlignment.Center, TextVerticalAlignment = VerticalAlignment.Middle,
                    Stroke = OxyColors.Transparent, StrokeThickness = 0,
                    TextColor = fraction[p, t] > 0.5 ? OxyColors.White : OxyColors.Black,
                });
        }
        int side = ConfusionSide(n);
        Export(model, path, side, side);
    }

    private static PlotModel LineModel(string title, string yTitle, (double Min, double Max)? range)
    {
        var model = new PlotModel { Title = title, Background = OxyColors.White };
        // Above the plot area, so that it never hides a curve.
        model.Legends.Add(new Legend
        {
            LegendPlacement = LegendPlacement.Outside, LegendPosition = LegendPosition.TopCenter,
            LegendOrientation = LegendOrientation.Horizontal,
        });
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Bottom, Title = "epoch", MinimumMajorStep = 1, MinimumMinorStep = 1,
            MajorGridlineStyle = LineStyle.Dot,
        });
        var y = new LinearAxis
        {
            Position = AxisPosition.Left, Title = yTitle, MajorGridlineStyle = LineStyle.Dot, StringFormat = "G4",
        };
        if (range is { } r) (y.Minimum, y.Maximum) = (r.Min, r.Max);
        model.Axes.Add(y);
        return model;
    }

    private static LineSeries Line(string title, IEnumerable<EpochMetrics> history, Func<EpochMetrics, double?> value)
    {
        var series = new LineSeries { Title = title, MarkerType = MarkerType.Circle, MarkerSize = 3, StrokeThickness = 2 };
        foreach (var m in history)
            if (value(m) is { } v) series.Points.Add(new DataPoint(m.Epoch, v));
        return series;
    }

    private static void Export(PlotModel model, string path, int width, int height)
    {
        // Plain Skia text drawing: text shaping would need HarfBuzz's native library, which is not referenced.
        var exporter = new PngExporter { Width = width, Height = height, UseTextShaping = false };
        ReportFiles.WriteAtomically(path, stream => exporter.Export(model, stream));
    }
}

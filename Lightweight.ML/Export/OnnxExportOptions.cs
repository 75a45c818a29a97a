namespace Lightweight.ML;

/// <summary>Options of <see cref="OnnxExport"/>.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>
    /// For a grayscale (1-channel) model: take RGB input <c>[N, 3, S, S]</c> and convert it to ITU-R 601 luma inside the
    /// graph (0.299 R + 0.587 G + 0.114 B, rounded to a whole grey level), exactly as training and scoring do, so the
    /// same ML.NET <c>ExtractPixels</c> settings serve every model. When false (the default) a grayscale model's input is
    /// the grey plane <c>[N, 1, S, S]</c>. Ignored for RGB models.
    /// </summary>
    public bool GrayscaleFromRgb { get; init; }
}

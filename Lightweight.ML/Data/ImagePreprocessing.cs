using static TorchSharp.torch;

namespace Lightweight.ML;

/// <summary>
/// How images become network input: resized (bilinear, antialiased) to <see cref="ImageSize"/> × <see cref="ImageSize"/>
/// (squashed, or with <see cref="CenterCropFraction"/> &lt; 1 resized keeping the aspect ratio and centre-cropped),
/// converted to <see cref="Channels"/> channels (RGB, or ITU-R 601 luma for 1), scaled to [0, 1] and normalised
/// per channel with <see cref="Mean"/> and <see cref="Std"/>. The same settings serve training and scoring.
/// </summary>
public sealed class ImagePreprocessing
{
    /// <summary>ImageNet channel means (RGB), torchvision's defaults.</summary>
    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet channel standard deviations (RGB), torchvision's defaults.</summary>
    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    /// <summary>Creates preprocessing settings; see the class remarks.</summary>
    /// <param name="imageSize">Side of the square network input in pixels; 16 to 4096.</param>
    /// <param name="channels">1 or 3.</param>
    /// <param name="mean">Per-channel means, one per channel; <c>null</c> for ImageNet's (averaged for 1 channel).</param>
    /// <param name="std">Per-channel standard deviations (&gt; 0), one per channel; <c>null</c> for ImageNet's.</param>
    /// <param name="centerCropFraction">1 to squash every image to a square; below 1 (e.g. 0.875, torchvision's 224/256),
    /// resize the shorter side to <c>imageSize / fraction</c> and cut the central square. In [0.25, 1].</param>
    public ImagePreprocessing(int imageSize, int channels, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null,
        double centerCropFraction = 1.0)
    {
        if (!(centerCropFraction >= 0.25 && centerCropFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(centerCropFraction), centerCropFraction, "The centre-crop fraction must be in [0.25, 1].");
        CenterCropFraction = centerCropFraction;
        if (imageSize is < 16 or > 4096)
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "The image size must be between 16 and 4096 pixels.");
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "Input channels must be 1 (grayscale) or 3 (RGB).");
        ImageSize = imageSize;
        Channels = channels;
        Mean = PerChannel(mean ?? ImageNetMean, mean is null, channels, nameof(mean));
        Std = PerChannel(std ?? ImageNetStd, std is null, channels, nameof(std));
        if (Std.Any(s => !(s > 0) || float.IsInfinity(s)))
            throw new ArgumentOutOfRangeException(nameof(std), $"Standard deviations must be positive and finite; got [{string.Join(", ", Std)}].");
        if (Mean.Any(m => !float.IsFinite(m)))
            throw new ArgumentOutOfRangeException(nameof(mean), $"Means must be finite; got [{string.Join(", ", Mean)}].");
    }

    /// <summary>Side of the square network input in pixels.</summary>
    public int ImageSize { get; }

    /// <summary>1: squash to a square; below 1: keep the aspect ratio, resize the shorter side to ImageSize / fraction, centre-crop.</summary>
    public double CenterCropFraction { get; }

    /// <summary>
    /// The size an image of <paramref name="height"/> × <paramref name="width"/> is resized to before the central
    /// <see cref="ImageSize"/> square is cut (the square itself when <see cref="CenterCropFraction"/> is 1).
    /// </summary>
    internal (int Height, int Width) ResizeTarget(int height, int width)
    {
        if (CenterCropFraction >= 1) return (ImageSize, ImageSize);
        double shorter = Math.Round(ImageSize / CenterCropFraction);
        double scale = shorter / Math.Min(height, width);
        return ((int)Math.Max(ImageSize, Math.Round(height * scale)), (int)Math.Max(ImageSize, Math.Round(width * scale)));
    }

    /// <summary>Number of input channels: 1 (grayscale) or 3 (RGB).</summary>
    public int Channels { get; }

    /// <summary>Per-channel means subtracted after scaling to [0, 1].</summary>
    public IReadOnlyList<float> Mean { get; }

    /// <summary>Per-channel standard deviations divided by after subtracting the mean.</summary>
    public IReadOnlyList<float> Std { get; }

    /// <summary>
    /// Turns a <c>uint8 [N, C, S, S]</c> batch (as <see cref="Data.ImageBatchBuilder"/> makes) into the normalised
    /// <c>float32</c> network input on <paramref name="device"/>, in one fused multiply-subtract.
    /// </summary>
    internal Tensor Normalize(Tensor pixels, Device device)
    {
        using var scope = NewDisposeScope();
        return Standardize(pixels.to(device).to(ScalarType.Float32), 255f).MoveToOuterDisposeScope();
    }

    /// <summary>Normalises a <c>float32</c> batch already scaled to [0, 1] (e.g. after augmentation), in place.</summary>
    internal Tensor NormalizeUnitRange(Tensor unit) => Standardize(unit, 1f);

    /// <summary>(x / range − mean) / std as x · scale − shift, in place on <paramref name="x"/>.</summary>
    private Tensor Standardize(Tensor x, float range)
    {
        using var scale = tensor(Std.Select(s => 1f / (range * s)).ToArray(), device: x.device).view(1, Channels, 1, 1);
        using var shift = tensor(Mean.Zip(Std, (m, s) => m / s).ToArray(), device: x.device).view(1, Channels, 1, 1);
        return x.mul_(scale).sub_(shift);
    }

    private static float[] PerChannel(IReadOnlyList<float> values, bool isDefault, int channels, string name)
    {
        if (values.Count == channels) return values.ToArray();
        if (isDefault && channels == 1) return [values.Average()];
        throw new ArgumentException($"Expected {channels} value(s) in {name}, one per input channel; got {values.Count}.", name);
    }
}

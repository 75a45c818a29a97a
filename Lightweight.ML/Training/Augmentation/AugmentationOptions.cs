// Training-time data augmentation policy. Follows the semantics of torchvision's transforms RandomResizedCrop,
// RandomHorizontalFlip, ColorJitter (brightness, contrast, saturation) and RandomErasing, with every random draw made
// per image.

namespace Lightweight.ML;

/// <summary>
/// Random data augmentation applied to training images (never to validation or scoring), with torchvision's semantics:
/// <c>RandomResizedCrop</c> → <c>RandomHorizontalFlip</c> → <c>ColorJitter</c> on [0, 1] pixels, then normalisation,
/// then <c>RandomErasing</c>. Every random value is drawn per image. The defaults are the usual ImageNet recipe: random
/// resized crop and horizontal flip on, colour jitter and erasing off. <see cref="None"/> turns everything off.
/// Values are checked by <see cref="Validate"/>; a bad value throws an <see cref="ArgumentException"/> naming the option.
/// </summary>
public sealed class AugmentationOptions
{
    /// <summary>A policy with every augmentation off (training sees the images as they are). A new instance per call.</summary>
    public static AugmentationOptions None => new() { RandomResizedCrop = false, HorizontalFlipProbability = 0 };

    /// <summary>
    /// Crop a random box of <see cref="CropScale"/> × the image area and aspect ratio (width / height) in
    /// <see cref="CropRatio"/>, then resize it (bilinear) back to the image size, as torchvision's
    /// <c>RandomResizedCrop</c>: box sides are rounded to whole pixels; ten candidate boxes are drawn per image and the
    /// first that fits is used, else the centre crop of the whole image clamped to <see cref="CropRatio"/>.
    /// Default <c>true</c>.
    /// </summary>
    public bool RandomResizedCrop { get; set; } = true;

    /// <summary>
    /// Random translation as torchvision's <c>RandomCrop(size, padding: p)</c>: the image is padded with p black pixels
    /// on every side and a window of the original size is cut at a random whole-pixel offset, so each image moves by
    /// −p…p pixels along each axis with no resampling (the usual CIFAR and Fashion-MNIST recipe). Default 0 (off); at
    /// least 0. An alternative to <see cref="RandomResizedCrop"/>, which must then be
    /// <c>false</c>.
    /// </summary>
    public int RandomCropPadding { get; set; }

    /// <summary>
    /// Range of the crop's area as a fraction of the image area, drawn uniformly. Default (0.08, 1.0) as torchvision;
    /// 0 &lt; Min ≤ Max ≤ 1.
    /// </summary>
    public (double Min, double Max) CropScale { get; set; } = (0.08, 1.0);

    /// <summary>
    /// Range of the crop's aspect ratio (width / height), drawn log-uniformly. Default (3/4, 4/3) as torchvision;
    /// 0 &lt; Min ≤ Max, finite.
    /// </summary>
    public (double Min, double Max) CropRatio { get; set; } = (3.0 / 4.0, 4.0 / 3.0);

    /// <summary>Probability of mirroring an image left to right. Default 0.5; in [0, 1].</summary>
    public double HorizontalFlipProbability { get; set; } = 0.5;

    /// <summary>
    /// Brightness jitter: pixels are multiplied by a factor drawn uniformly in [max(0, 1 − x), 1 + x] per image, then
    /// clamped to [0, 1]. Default 0 (off); at least 0, finite.
    /// </summary>
    public double Brightness { get; set; }

    /// <summary>
    /// Contrast jitter: each image is blended with its mean grey level by a factor drawn uniformly in
    /// [max(0, 1 − x), 1 + x], then clamped to [0, 1]. Default 0 (off); at least 0, finite.
    /// </summary>
    public double Contrast { get; set; }

    /// <summary>
    /// Saturation jitter: each image is blended with its greyscale version by a factor drawn uniformly in
    /// [max(0, 1 − x), 1 + x], then clamped to [0, 1]; no effect on 1-channel images. Default 0 (off); at least 0, finite.
    /// Jitter is applied in the fixed order brightness, contrast, saturation (torchvision shuffles the order per call).
    /// </summary>
    public double Saturation { get; set; }

    /// <summary>
    /// Probability of erasing a random box of an image, as torchvision's <c>RandomErasing</c> with <c>value=0</c>:
    /// applied after normalisation, so erased pixels are 0 in normalised space, i.e. set to the per-channel mean.
    /// Default 0 (off); in [0, 1].
    /// </summary>
    public double ErasingProbability { get; set; }

    /// <summary>
    /// Range of the erased box's area as a fraction of the image area, drawn uniformly. Default (0.02, 0.33);
    /// 0 ≤ Min ≤ Max ≤ 1. Of ten candidate boxes the first strictly smaller than the image is erased; if none is, the
    /// image is left unchanged (torchvision's behaviour).
    /// </summary>
    public (double Min, double Max) ErasingScale { get; set; } = (0.02, 0.33);

    /// <summary>
    /// Range of the erased box's aspect ratio (height / width, as torchvision), drawn log-uniformly. Default (0.3, 3.3);
    /// 0 &lt; Min ≤ Max, finite.
    /// </summary>
    public (double Min, double Max) ErasingRatio { get; set; } = (0.3, 3.3);

    /// <summary>Checks every option; throws an <see cref="ArgumentException"/> naming the first bad one.</summary>
    public void Validate()
    {
        if (!(CropScale.Min > 0 && CropScale.Min <= CropScale.Max && CropScale.Max <= 1))
            throw new ArgumentOutOfRangeException(nameof(CropScale), CropScale, "CropScale must satisfy 0 < Min <= Max <= 1.");
        RequireRatio(CropRatio, nameof(CropRatio));
        if (RandomCropPadding < 0)
            throw new ArgumentOutOfRangeException(nameof(RandomCropPadding), RandomCropPadding, "RandomCropPadding must be at least 0.");
        if (RandomCropPadding > 0 && RandomResizedCrop)
            throw new ArgumentException(
                "RandomCropPadding (random translation) and RandomResizedCrop are alternatives; set RandomResizedCrop = false to use RandomCropPadding.",
                nameof(RandomCropPadding));
        RequireProbability(HorizontalFlipProbability, nameof(HorizontalFlipProbability));
        RequireJitter(Brightness, nameof(Brightness));
        RequireJitter(Contrast, nameof(Contrast));
        RequireJitter(Saturation, nameof(Saturation));
        RequireProbability(ErasingProbability, nameof(ErasingProbability));
        if (!(ErasingScale.Min >= 0 && ErasingScale.Min <= ErasingScale.Max && ErasingScale.Max <= 1))
            throw new ArgumentOutOfRangeException(nameof(ErasingScale), ErasingScale, "ErasingScale must satisfy 0 <= Min <= Max <= 1.");
        RequireRatio(ErasingRatio, nameof(ErasingRatio));
    }

    private static void RequireRatio((double Min, double Max) r, string option)
    {
        if (!(r.Min > 0 && r.Min <= r.Max && double.IsFinite(r.Max)))
            throw new ArgumentOutOfRangeException(option, r, $"{option} must satisfy 0 < Min <= Max and be finite.");
    }

    private static void RequireProbability(double p, string option)
    {
        if (!(p >= 0 && p <= 1))
            throw new ArgumentOutOfRangeException(option, p, $"{option} must be in [0, 1].");
    }

    private static void RequireJitter(double x, string option)
    {
        if (!(x >= 0 && double.IsFinite(x)))
            throw new ArgumentOutOfRangeException(option, x, $"{option} must be finite and at least 0.");
    }
}

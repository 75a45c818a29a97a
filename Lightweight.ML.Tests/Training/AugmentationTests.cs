using Lightweight.ML.Training;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Training;

[TestClass]
public sealed class AugmentationTests
{
    private const int S = 32;

    private static Tensor Textured(long n, int channels = 3, int size = S, ulong seed = 7)
    {
        using var g = new Generator(seed);
        return rand(1, channels, size, size, generator: g).expand(n, channels, size, size).contiguous();
    }

    /// <summary>[N, 1, S, S] with value = column index (horizontal ramp) or row index.</summary>
    private static Tensor Ramp(long n, bool alongRows = false)
    {
        var r = arange(S, dtype: ScalarType.Float32);
        return (alongRows ? r.view(1, 1, S, 1) : r.view(1, 1, 1, S)).expand(n, 1, S, S).contiguous();
    }

    private static string Show(Tensor t) => string.Join(", ", t.cpu().to(ScalarType.Float32).data<float>().ToArray().Select(v => v.ToString("G4")));

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static Tensor Run(AugmentationOptions o, Tensor x, ulong seed = 1)
    {
        using var g = new Generator(seed);
        return new BatchAugmenter(o).Apply(x, g);
    }

    private static AugmentationOptions CropOnly((double, double) scale, (double, double) ratio)
        => new() { CropScale = scale, CropRatio = ratio, HorizontalFlipProbability = 0 };

    [TestMethod]
    public void IdenticalImagesInOneBatchGetDifferentCropsAndFlips()
    {
        using var scope = NewDisposeScope();
        foreach (var o in new[] { new AugmentationOptions(), CropOnly((0.08, 1), (0.75, 4.0 / 3)) })
        {
            var y = Run(o, Textured(6));
            for (int i = 0; i < 6; i++)
                for (int j = i + 1; j < 6; j++)
                    Assert.IsFalse(y[i].allclose(y[j]), $"images {i} and {j} were augmented identically");
        }
    }

    [TestMethod]
    public void SameSeedSameOutputDifferentSeedDifferentOutput()
    {
        using var scope = NewDisposeScope();
        var o = new AugmentationOptions { Brightness = 0.4, Contrast = 0.4, Saturation = 0.4, ErasingProbability = 0.5 };
        var x = Textured(8);
        Tensor Full(ulong seed)
        {
            using var g = new Generator(seed);
            var a = new BatchAugmenter(o);
            return a.ApplyErasing(a.Apply(x, g), g);
        }
        Assert.IsTrue(Same(Full(42), Full(42)));
        Assert.IsFalse(Full(42).allclose(Full(43)));
    }

    [TestMethod]
    public void FlipWithProbabilityOneMirrorsAndNothingEnabledIsIdentity()
    {
        using var scope = NewDisposeScope();
        var x = Textured(4);
        var flipOnly = AugmentationOptions.None;
        flipOnly.HorizontalFlipProbability = 1;
        Assert.IsTrue(Same(Run(flipOnly, x), x.flip(3)));
        // Through the sampler (crop of the whole image), the mirror is exact to float rounding.
        var cropAndFlip = CropOnly((1, 1), (1, 1));
        cropAndFlip.HorizontalFlipProbability = 1;
        Assert.IsTrue(Run(cropAndFlip, x).allclose(x.flip(3), rtol: 0, atol: 1e-5));

        var none = new BatchAugmenter(AugmentationOptions.None);
        Assert.IsFalse(none.ChangesPixels);
        Assert.IsFalse(none.Erases);
        using var g = new Generator(1);
        Assert.IsTrue(Same(none.Apply(x, g), x));
        Assert.IsTrue(Same(none.ApplyErasing(x, g), x));
    }

    [TestMethod]
    public void FullScaleSquareCropIsIdentity()
    {
        using var scope = NewDisposeScope();
        var x = Textured(4);
        Assert.IsTrue(Run(CropOnly((1, 1), (1, 1)), x).allclose(x, rtol: 0, atol: 1e-5));
    }

    [TestMethod]
    public void SmallScaleCropZoomsIn()
    {
        using var scope = NewDisposeScope();
        var y = Run(CropOnly((0.08, 0.1), (0.75, 4.0 / 3)), Ramp(16));
        // Crop width ≤ √(0.1 · 4/3) · S ≈ 11.7 px, so each output spans under 12 of the 31 column steps of the ramp.
        var range = y.amax([1, 2, 3]) - y.amin([1, 2, 3]);
        Assert.IsTrue(range.le(12).all().item<bool>(), $"ranges {Show(range)}");
        Assert.IsTrue(range.ge(4).all().item<bool>(), $"ranges {Show(range)}"); // still a ramp, not a constant
        Assert.IsTrue(y.amin([1, 2, 3]).std().item<float>() > 1, "crop positions should vary per image");
    }

    [TestMethod]
    public void NoFittingCandidateFallsBackToCentreCropClampedToTheRatio()
    {
        using var scope = NewDisposeScope();
        // Ratio 2 at full area never fits a square: torchvision takes the full width and height S / 2, centred
        // (rows 8..23 of 32), resized back to S; the first and last output rows are the box's edge rows, as when
        // cropping before resizing (bilinear interpolation clamps at the edges); columns are untouched.
        var o = CropOnly((1, 1), (2, 2));
        var rows = Run(o, Ramp(2, alongRows: true));
        Assert.AreEqual(8f, rows.min().item<float>(), 1e-4f);
        Assert.AreEqual(23f, rows.max().item<float>(), 1e-4f);
        Assert.AreEqual(8.25f, rows[0, 0, 1, 0].item<float>(), 1e-4f); // row 1 samples 8 + 1.5 / 2 − 0.5
        Assert.AreEqual(22.75f, rows[1, 0, S - 2, 5].item<float>(), 1e-4f);
        Assert.IsTrue(Run(o, Ramp(2)).allclose(Ramp(2), rtol: 0, atol: 1e-4));
    }

    [TestMethod]
    public void BrightnessScalesEachImageByAFactorInRange()
    {
        using var scope = NewDisposeScope();
        var o = AugmentationOptions.None;
        o.Brightness = 0.4;
        var x = Textured(32).mul(0.4).add(0.2); // in [0.2, 0.6]: never clamped at 1.4×
        var factor = Run(o, x).div(x);
        var perImage = factor.mean([1, 2, 3]);
        Assert.IsTrue(factor.sub(perImage.view(-1, 1, 1, 1)).abs().max().item<float>() < 1e-5, "one factor per image");
        Assert.IsTrue(perImage.ge(0.6 - 1e-6).all().item<bool>() && perImage.le(1.4 + 1e-6).all().item<bool>(), Show(perImage));
        Assert.IsTrue(perImage.min().item<float>() < 0.9 && perImage.max().item<float>() > 1.1, Show(perImage));
    }

    [TestMethod]
    public void ContrastKeepsTheMeanGreyAndSaturationIsANoOpOnGreyscale()
    {
        using var scope = NewDisposeScope();
        var o = AugmentationOptions.None;
        (o.Contrast, o.Saturation) = (0.5, 0.9);
        var x = Textured(16, channels: 1).mul(0.2).add(0.4); // in [0.4, 0.6]: never clamped at factors ≤ 1.5
        var y = Run(o, x);
        Assert.IsTrue(y.mean([1, 2, 3]).allclose(x.mean([1, 2, 3]), rtol: 0, atol: 1e-5));
        var stdRatio = y.std([1, 2, 3]) / x.std([1, 2, 3]);
        Assert.IsTrue(stdRatio.ge(0.5 - 1e-4).all().item<bool>() && stdRatio.le(1.5 + 1e-4).all().item<bool>(), Show(stdRatio));

        var saturationOnly = AugmentationOptions.None;
        saturationOnly.Saturation = 0.9;
        Assert.IsTrue(Same(Run(saturationOnly, x), x));
        Assert.IsFalse(Run(saturationOnly, Textured(4)).allclose(Textured(4))); // but not on RGB
    }

    [TestMethod]
    public void ErasingWithProbabilityOneZeroesOneBoxPerImageWithinTheScaleRange()
    {
        using var scope = NewDisposeScope();
        const int size = 64, n = 24;
        var o = new AugmentationOptions { ErasingProbability = 1 };
        var x = Textured(n, size: size).add(0.5); // no zeros before erasing
        using var g = new Generator(3);
        var y = new BatchAugmenter(o).ApplyErasing(x, g);
        var zero = y.eq(0);
        Assert.IsTrue(zero.all(1).eq(zero.any(1)).all().item<bool>(), "the same box in every channel");
        var mask = zero[.., 0];
        // Sides are rounded to whole pixels: the area may miss the drawn one by ½(h + w) + ¼ pixels.
        double Slack(double area) => 0.5 * (Math.Sqrt(3.3) + Math.Sqrt(1 / 3.3)) * Math.Sqrt(area) + 0.25;
        double lo = 0.02 * size * size, hi = 0.33 * size * size;
        for (int i = 0; i < n; i++)
        {
            long count = mask[i].sum().item<long>();
            long boxH = mask[i].any(1).sum().item<long>(), boxW = mask[i].any(0).sum().item<long>();
            Assert.AreEqual(boxH * boxW, count, $"image {i}: the erased pixels form a rectangle");
            Assert.IsTrue(count >= lo - Slack(lo) && count <= hi + Slack(hi), $"image {i}: {count} pixels erased");
        }

        // Per-image probability: about half of the images erased at 0.5.
        o.ErasingProbability = 0.5;
        long erased = new BatchAugmenter(o).ApplyErasing(x, g).eq(0).flatten(1).any(1).sum().item<long>();
        Assert.IsTrue(erased is >= 4 and <= 20, $"{erased} of {n} images erased");

        // torchvision: when no candidate box is strictly smaller than the image, nothing is erased.
        o.ErasingProbability = 1;
        o.ErasingScale = (1, 1);
        Assert.IsTrue(Same(new BatchAugmenter(o).ApplyErasing(x, g), x));
    }

    [TestMethod]
    public void ApplyLeavesOnlyItsResultInTheCallersScope()
    {
        using var scope = NewDisposeScope();
        var x = Textured(4);
        var a = new BatchAugmenter(new AugmentationOptions { Brightness = 0.2, Contrast = 0.2, Saturation = 0.2, ErasingProbability = 1 });
        using var g = new Generator(5);
        int before = scope.DisposablesCount;
        var y = a.ApplyErasing(a.Apply(x, g), g);
        Assert.AreEqual(before + 2, scope.DisposablesCount);
        CollectionAssert.AreEqual(x.shape, y.shape);
        Assert.IsTrue(Same(x, Textured(4)), "the input is not modified");
    }

    [TestMethod]
    public void PaddedRandomCropShiftsEachImageByWholePixelsWithinThePadding()
    {
        using var scope = NewDisposeScope();
        const int pad = 3, n = 24;
        var x = Textured(n, channels: 1).add(0.1); // no zero pixels, so the zero fill is recognisable
        var padded = nn.functional.pad(x, [pad, pad, pad, pad]);
        foreach (double flipP in new[] { 0.0, 1.0 })
        {
            var o = new AugmentationOptions { RandomResizedCrop = false, RandomCropPadding = pad, HorizontalFlipProbability = flipP };
            var y = Run(o, x);
            var shifts = new HashSet<(int, int)>();
            for (int i = 0; i < n; i++)
            {
                // The output must be one of the (2·pad + 1)² windows of the zero-padded input, copied exactly.
                var match = Enumerable.Range(0, (2 * pad + 1) * (2 * pad + 1)).Select(k => (Dy: k / (2 * pad + 1), Dx: k % (2 * pad + 1)))
                    .Where(d =>
                    {
                        var window = padded[i].narrow(1, d.Dy, S).narrow(2, d.Dx, S);
                        return Same(flipP == 1 ? window.flip(2) : window, y[i]);
                    }).ToList();
                Assert.HasCount(1, match, $"image {i} (flip p = {flipP}) is not an exact whole-pixel shift of its input");
                shifts.Add((match[0].Dy, match[0].Dx));
            }
            Assert.IsGreaterThan(8, shifts.Count, $"24 images drew only {shifts.Count} distinct shifts");
        }
        Assert.IsTrue(Same(Run(new AugmentationOptions { RandomResizedCrop = false, RandomCropPadding = pad }, x, seed: 5),
            Run(new AugmentationOptions { RandomResizedCrop = false, RandomCropPadding = pad }, x, seed: 5)));
    }

    [TestMethod]
    public void PaddedCropAndResizedCropAreAlternatives()
    {
        var both = new AugmentationOptions { RandomCropPadding = 4 };
        var e = Assert.ThrowsExactly<ArgumentException>(both.Validate);
        Assert.AreEqual(nameof(AugmentationOptions.RandomCropPadding), e.ParamName);
        var negative = new AugmentationOptions { RandomResizedCrop = false, RandomCropPadding = -1 };
        Assert.AreEqual(nameof(AugmentationOptions.RandomCropPadding), Assert.ThrowsExactly<ArgumentOutOfRangeException>(negative.Validate).ParamName);
    }

    [TestMethod]
    public void BatchesOfTheWrongShapeOrTypeAreRejected()
    {
        using var scope = NewDisposeScope();
        var a = new BatchAugmenter(new AugmentationOptions());
        using var g = new Generator(1);
        Assert.ThrowsExactly<ArgumentException>(() => a.Apply(zeros(2, 4, 8, 8), g));
        Assert.ThrowsExactly<ArgumentException>(() => a.Apply(zeros(3, 8, 8), g));
        Assert.ThrowsExactly<ArgumentException>(() => a.Apply(zeros([2, 3, 8, 8], ScalarType.Byte), g));
        Assert.ThrowsExactly<ArgumentException>(() => a.ApplyErasing(zeros(3, 8, 8), g));
    }

    [TestMethod]
    public void ValidationNamesTheBadOption()
    {
        var cases = new (Action<AugmentationOptions> Set, string Name)[]
        {
            (o => o.CropScale = (0, 1), nameof(AugmentationOptions.CropScale)),
            (o => o.CropScale = (0.5, 0.2), nameof(AugmentationOptions.CropScale)),
            (o => o.CropScale = (0.5, 1.5), nameof(AugmentationOptions.CropScale)),
            (o => o.CropRatio = (0, 1), nameof(AugmentationOptions.CropRatio)),
            (o => o.CropRatio = (2, 1), nameof(AugmentationOptions.CropRatio)),
            (o => o.HorizontalFlipProbability = 1.5, nameof(AugmentationOptions.HorizontalFlipProbability)),
            (o => o.HorizontalFlipProbability = double.NaN, nameof(AugmentationOptions.HorizontalFlipProbability)),
            (o => o.Brightness = -0.1, nameof(AugmentationOptions.Brightness)),
            (o => o.Contrast = double.PositiveInfinity, nameof(AugmentationOptions.Contrast)),
            (o => o.Saturation = -1, nameof(AugmentationOptions.Saturation)),
            (o => o.ErasingProbability = -0.5, nameof(AugmentationOptions.ErasingProbability)),
            (o => o.ErasingScale = (0.4, 0.1), nameof(AugmentationOptions.ErasingScale)),
            (o => o.ErasingRatio = (0.3, double.PositiveInfinity), nameof(AugmentationOptions.ErasingRatio)),
        };
        foreach (var (set, name) in cases)
        {
            var o = new AugmentationOptions();
            set(o);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(o.Validate, name);
            Assert.AreEqual(name, e.ParamName);
            Assert.IsNotNull(e.ActualValue);
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new BatchAugmenter(o));
        }
        new AugmentationOptions().Validate();
        AugmentationOptions.None.Validate();
    }
}

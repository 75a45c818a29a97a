// Batched, per-image random augmentation following torchvision's transforms semantics: RandomResizedCrop or
// RandomCrop with padding, RandomHorizontalFlip, ColorJitter (brightness, contrast, saturation; fixed order) and RandomErasing (value 0).
// Each call makes one draw of random numbers from the caller's generator (a row per image); pixels never pass through
// managed code.
using TorchSharp;
using static TorchSharp.torch;

namespace Lightweight.ML.Training;

/// <summary>
/// Applies an <see cref="AugmentationOptions"/> policy to whole batches in a few native calls. In the training step:
/// <code>
/// var x = pixels.to(device).to(ScalarType.Float32).div_(255);  // uint8 [N, C, S, S] → float [0, 1]
/// x = augmenter.Apply(x, generator);                            // crop + flip + jitter
/// x = normalise(x);                                             // (x − mean) / std
/// x = augmenter.ApplyErasing(x, generator);                     // random erasing, after normalisation as torchvision
/// </code>
/// Every random value is drawn per image from <c>generator</c> (on the generator's device, then moved to the batch's),
/// so the same generator state gives the same output. Both methods return a new tensor in the caller's dispose scope
/// and leave the input unchanged; when nothing in their step is enabled they return an alias of the input.
/// </summary>
internal sealed class BatchAugmenter
{
    private const int Attempts = 10; // candidate boxes per image, as torchvision
    private static readonly float[] LumaWeights = [0.2989f, 0.587f, 0.114f]; // torchvision's rgb_to_grayscale

    private readonly bool _crop;
    private readonly int _pad;
    private readonly (double Min, double Max) _cropScale, _cropLogRatio, _cropRatio, _eraseScale, _eraseLogRatio;
    private readonly double _flip, _brightness, _contrast, _saturation, _erasing;

    /// <summary>Validates and copies the policy (later changes to <paramref name="options"/> have no effect).</summary>
    public BatchAugmenter(AugmentationOptions options)
    {
        options.Validate();
        _crop = options.RandomResizedCrop;
        _pad = options.RandomCropPadding;
        _cropScale = options.CropScale;
        _cropRatio = options.CropRatio;
        _cropLogRatio = (Math.Log(options.CropRatio.Min), Math.Log(options.CropRatio.Max));
        _flip = options.HorizontalFlipProbability;
        (_brightness, _contrast, _saturation) = (options.Brightness, options.Contrast, options.Saturation);
        _erasing = options.ErasingProbability;
        _eraseScale = options.ErasingScale;
        _eraseLogRatio = (Math.Log(options.ErasingRatio.Min), Math.Log(options.ErasingRatio.Max));
    }

    /// <summary>Whether <see cref="Apply"/> changes anything (crop, translation, flip or jitter enabled).</summary>
    public bool ChangesPixels => _crop || _pad > 0 || _flip > 0 || _brightness > 0 || _contrast > 0 || _saturation > 0;

    /// <summary>Whether <see cref="ApplyErasing"/> changes anything.</summary>
    public bool Erases => _erasing > 0;

    /// <summary>
    /// Random resized crop or padded random crop, horizontal flip and colour jitter of a floating-point
    /// <c>[N, C, H, W]</c> batch in [0, 1] (C = 1 or 3) on any device; returns the same shape. Resized crop and flip are
    /// one <c>grid_sample</c> (bilinear) over a per-image axis-aligned affine grid clamped to the crop box; padded crop
    /// and flip are one <c>grid_sample</c> (nearest, zero outside) over whole-pixel shifts, an exact copy of pixels;
    /// flip alone is an exact mirror.
    /// </summary>
    public Tensor Apply(Tensor images, Generator generator)
    {
        CheckBatch(images, nameof(images));
        if (!ChangesPixels || images.shape[0] == 0) return images.alias();
        using var scope = NewDisposeScope();
        long n = images.shape[0], h = images.shape[2], w = images.shape[3];
        // Columns: 0-9 crop scales, 10-19 crop log-ratios, 20-21 crop offsets, 22 flip, 23-25 jitter factors,
        // 26-27 translation (only with padding, so that other policies keep their random stream).
        var u = rand(n, 2 * Attempts + 6 + (_pad > 0 ? 2 : 0), dtype: ScalarType.Float64, device: generator.device, generator: generator);
        var flip = u.select(1, 2 * Attempts + 2).lt(_flip);
        var x = images;
        if (_crop)
        {
            var grid = CropGrid(u, flip, h, w, images);
            x = nn.functional.grid_sample(x, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false);
        }
        else if (_pad > 0)
        {
            var grid = ShiftGrid(u, flip, h, w, images);
            x = nn.functional.grid_sample(x, grid, GridSampleMode.Nearest, GridSamplePaddingMode.Zeros, align_corners: false);
        }
        else if (_flip > 0)
        {
            x = x.flip(3).where(flip.to(images.device).view(n, 1, 1, 1), x);
        }
        if (_brightness > 0)
            x = x.mul(Factor(u, 2 * Attempts + 3, _brightness, images)).clamp_(0, 1);
        if (_contrast > 0)
        {
            var mean = Grey(x.mean([2, 3], keepdim: true)); // mean of the greyscale image, [N, 1, 1, 1]
            x = Blend(x, mean, Factor(u, 2 * Attempts + 4, _contrast, images));
        }
        if (_saturation > 0 && images.shape[1] == 3)
            x = Blend(x, Grey(x), Factor(u, 2 * Attempts + 5, _saturation, images));
        return (ReferenceEquals(x, images) ? x.alias() : x).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Random erasing of a normalised floating-point <c>[N, C, H, W]</c> batch: with probability
    /// <see cref="AugmentationOptions.ErasingProbability"/> per image, one random box is set to 0 (the channel mean).
    /// </summary>
    public Tensor ApplyErasing(Tensor normalised, Generator generator)
    {
        if (normalised.dim() != 4)
            throw new ArgumentException($"Expected an [N, C, H, W] batch; got shape [{string.Join(", ", normalised.shape)}].", nameof(normalised));
        if (!Erases || normalised.shape[0] == 0) return normalised.alias();
        using var scope = NewDisposeScope();
        long n = normalised.shape[0], h = normalised.shape[2], w = normalised.shape[3];
        // Columns: 0-9 box scales, 10-19 box log-ratios, 20-21 box offsets, 22 whether to erase.
        var u = rand(n, 2 * Attempts + 3, dtype: ScalarType.Float64, device: generator.device, generator: generator);
        var (boxW, boxH, found) = Candidates(u, _eraseScale, _eraseLogRatio, h, w, heightOverWidth: true,
            fits: (bw, bh) => bw.lt(w).logical_and_(bh.lt(h)));
        var erase = u.select(1, 2 * Attempts + 2).lt(_erasing).logical_and_(found);
        var top = u.select(1, 2 * Attempts).mul(boxH.neg().add_(h + 1)).floor_();
        var left = u.select(1, 2 * Attempts + 1).mul(boxW.neg().add_(w + 1)).floor_();
        Tensor Col(Tensor t) => t.to(ScalarType.Int64, normalised.device).view(n, 1, 1, 1);
        var rows = arange(h, device: normalised.device).view(1, 1, h, 1);
        var cols = arange(w, device: normalised.device).view(1, 1, 1, w);
        var inRows = rows.ge(Col(top)).logical_and_(rows.lt(Col(top + boxH))).logical_and_(Col(erase).to(ScalarType.Bool));
        var mask = inRows.logical_and(cols.ge(Col(left)).logical_and_(cols.lt(Col(left + boxW)))); // [N, 1, H, W]
        return normalised.masked_fill(mask, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The per-image sampling grid <c>[N, H, W, 2]</c> of <c>grid_sample</c> (align_corners=false) for the crop box,
    /// mirrored where <paramref name="flip"/>: an axis-aligned affine map, built by broadcasting one row of x and one
    /// column of y per image (much cheaper than <c>affine_grid</c>). Coordinates are clamped to the box's first and last
    /// pixel centres so that, as when torchvision crops before resizing, no pixel outside the box is blended in.
    /// </summary>
    private Tensor CropGrid(Tensor u, Tensor flip, long h, long w, Tensor like)
    {
        var (boxW, boxH, found) = Candidates(u, _cropScale, _cropLogRatio, h, w, heightOverWidth: false,
            fits: (bw, bh) => bw.gt(0).logical_and_(bw.le(w)).logical_and_(bh.gt(0)).logical_and_(bh.le(h)));
        // torchvision's fallback: the whole image, clamped to the ratio range, centred.
        double inRatio = (double)w / h;
        (double fw, double fh) = inRatio < _cropRatio.Min ? ((double)w, Math.Round(w / _cropRatio.Min))
            : inRatio > _cropRatio.Max ? (Math.Round(h * _cropRatio.Max), (double)h) : ((double)w, (double)h);
        var notFound = found.logical_not();
        boxW = boxW.masked_fill(notFound, fw);
        boxH = boxH.masked_fill(notFound, fh);
        var top = u.select(1, 2 * Attempts).mul(boxH.neg().add_(h + 1)).floor_().masked_fill_(notFound, Math.Floor((h - fh) / 2));
        var left = u.select(1, 2 * Attempts + 1).mul(boxW.neg().add_(w + 1)).floor_().masked_fill_(notFound, Math.Floor((w - fw) / 2));
        var mirror = flip.to(ScalarType.Float64).mul(-2).add_(1);
        var gx = Axis(left, boxW, w, mirror);
        var gy = Axis(top, boxH, h, null);
        long n = u.shape[0];
        return stack([gx.to(like.dtype, like.device).view(n, 1, w).expand(n, h, w),
            gy.to(like.dtype, like.device).view(n, h, 1).expand(n, h, w)], 3);
    }

    /// <summary>
    /// The sampling grid <c>[N, H, W, 2]</c> of a padded random crop: output pixel (i, j) reads input pixel
    /// (i + dy, j + dx), or (i + dy, W − 1 − j + dx) where mirrored, with dx, dy uniform integers in [−pad, pad] from
    /// columns 26–27 of <paramref name="u"/>; coordinates are exact pixel centres, so nearest sampling copies pixels.
    /// </summary>
    private Tensor ShiftGrid(Tensor u, Tensor flip, long h, long w, Tensor like)
    {
        long n = u.shape[0];
        Tensor Shift(int column) => u.select(1, column).mul(2 * _pad + 1).floor_().sub_(_pad).view(n, 1);
        var cols = arange(w, ScalarType.Float64, u.device).view(1, w);
        var columns = cols.flip(1).where(flip.to(u.device).view(n, 1), cols).add(Shift(2 * Attempts + 6));
        var rows = arange(h, ScalarType.Float64, u.device).view(1, h).add(Shift(2 * Attempts + 7));
        Tensor Normalised(Tensor pixel, long size) => pixel.mul(2).add_(1).div_(size).sub_(1).to(like.dtype, like.device);
        return stack([Normalised(columns, w).view(n, 1, w).expand(n, h, w), Normalised(rows, h).view(n, h, 1).expand(n, h, w)], 3);
    }

    /// <summary>
    /// Normalised input coordinates <c>[N, size]</c> sampled by the output's pixel centres along one axis, for boxes
    /// <c>[start, start + length)</c>: the box's outer edges map to the output's [-1, 1], reversed where sign is -1.
    /// </summary>
    private static Tensor Axis(Tensor start, Tensor length, long size, Tensor? sign)
    {
        var centres = arange(size, ScalarType.Float64, start.device).mul_(2).add_(1).div_(size).sub_(1).view(1, size);
        var scale = length.div(size).view(-1, 1);
        if (sign is not null) scale.mul_(sign.view(-1, 1));
        var offset = start.mul(2).add_(length).div_(size).sub_(1).view(-1, 1);
        var first = start.mul(2).add_(1).div_(size).sub_(1).view(-1, 1);            // centre of the box's first pixel
        var last = start.add(length).mul_(2).sub_(1).div_(size).sub_(1).view(-1, 1); // and of its last
        return centres.mul(scale).add_(offset).clamp_(first, last);
    }

    /// <summary>
    /// Draws <see cref="Attempts"/> boxes per image (area fraction uniform in <paramref name="scale"/>, log aspect ratio
    /// uniform in <paramref name="logRatio"/>, sides rounded) from columns 0–19 of <paramref name="u"/> and keeps the
    /// first that <paramref name="fits"/>; <c>found</c> is false where none did.
    /// </summary>
    private static (Tensor W, Tensor H, Tensor Found) Candidates(Tensor u, (double Min, double Max) scale,
        (double Min, double Max) logRatio, long h, long w, bool heightOverWidth, Func<Tensor, Tensor, Tensor> fits)
    {
        var area = u.narrow(1, 0, Attempts).mul(scale.Max - scale.Min).add_(scale.Min).mul_((double)h * w);
        var ratio = u.narrow(1, Attempts, Attempts).mul(logRatio.Max - logRatio.Min).add_(logRatio.Min).exp_();
        var along = area.mul(ratio).sqrt_().round_();
        var across = area.div(ratio).sqrt_().round_();
        var (bw, bh) = heightOverWidth ? (across, along) : (along, across);
        var ok = fits(bw, bh);
        var first = ok.to(ScalarType.Int32).argmax(1, keepdim: true); // first fitting candidate (0 if none)
        return (bw.gather(1, first).squeeze(1), bh.gather(1, first).squeeze(1), ok.any(1));
    }

    /// <summary>Per-image jitter factors uniform in [max(0, 1 − x), 1 + x] from column <paramref name="column"/>, as [N, 1, 1, 1].</summary>
    private static Tensor Factor(Tensor u, int column, double x, Tensor like)
    {
        double lo = Math.Max(0, 1 - x);
        return u.select(1, column).mul(1 + x - lo).add_(lo).to(like.dtype, like.device).view(-1, 1, 1, 1);
    }

    /// <summary>Greyscale <c>[N, 1, H, W]</c> of <c>[N, C, H, W]</c> (torchvision's luma weights; the image itself for one channel).</summary>
    private static Tensor Grey(Tensor x)
    {
        if (x.shape[1] == 1) return x;
        return x.narrow(1, 0, 1).mul(LumaWeights[0])
            .add_(x.narrow(1, 1, 1), alpha: LumaWeights[1]).add_(x.narrow(1, 2, 1), alpha: LumaWeights[2]);
    }

    /// <summary>torchvision's <c>_blend</c>: <c>(f · x + (1 − f) · other)</c> clamped to [0, 1].</summary>
    private static Tensor Blend(Tensor x, Tensor other, Tensor f) => other.lerp(x, f).clamp_(0, 1);

    private static void CheckBatch(Tensor images, string name)
    {
        if (images.dim() != 4 || images.shape[1] is not (1 or 3))
            throw new ArgumentException($"Expected an [N, C, H, W] batch with C = 1 or 3; got shape [{string.Join(", ", images.shape)}].", name);
        if (!images.is_floating_point())
            throw new ArgumentException($"Expected floating-point pixels in [0, 1]; got {images.dtype}.", name);
    }
}

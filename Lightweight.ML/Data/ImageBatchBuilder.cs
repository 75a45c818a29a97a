using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace Lightweight.ML.Data;

/// <summary>
/// Collects decoded images into <c>uint8 [N, C, S, S]</c> tensors. Each image's pixels are copied once
/// (a memory copy, no per-pixel loop) into a native staging tensor; runs of equally sized images are then
/// converted, resized and channel-mapped in one batched native call.
/// </summary>
internal sealed class ImageBatchBuilder : IDisposable
{
    /// <summary>Most staging bytes held before a run is converted (and most images per run).</summary>
    private const long StagingBytes = 64L << 20;
    private const int MaxRunLength = 256;

    private readonly ImagePreprocessing _preprocessing;
    private readonly int _maxRunLength;
    private readonly List<Tensor> _converted = [];
    private Tensor? _staging;
    private int _staged, _stagingCapacity, _height, _width;
    private MLPixelFormat _format;

    /// <param name="preprocessing">Resize and channel settings.</param>
    /// <param name="maxRunLength">The most images staged before a conversion: the expected batch size (1 for
    /// single-image scoring, so no 256-image staging buffer is allocated per prediction).</param>
    public ImageBatchBuilder(ImagePreprocessing preprocessing, int maxRunLength = MaxRunLength)
    {
        _preprocessing = preprocessing;
        _maxRunLength = Math.Clamp(maxRunLength, 1, MaxRunLength);
    }

    /// <summary>Number of images added since the last <see cref="Build"/>.</summary>
    public int Count { get; private set; }

    /// <summary>Copies the pixels of <paramref name="image"/>; the image may be disposed right after.</summary>
    /// <exception cref="InvalidDataException">The image has an unsupported pixel format or inconsistent pixel data.</exception>
    public void Add(MLImage image)
    {
        if (image.PixelFormat is not (MLPixelFormat.Bgra32 or MLPixelFormat.Rgba32))
            throw new InvalidDataException($"Unsupported pixel format {image.PixelFormat}; expected Bgra32 or Rgba32 as LoadImages produces.");
        int height = image.Height, width = image.Width;
        long rowBytes = 4L * height * width;
        var pixels = image.Pixels;
        if (height <= 0 || width <= 0 || pixels.Length != rowBytes)
            throw new InvalidDataException($"The image reports {width}x{height} pixels but holds {pixels.Length} bytes.");

        if (_staging is not null && (height != _height || width != _width || image.PixelFormat != _format || _staged == _stagingCapacity))
            ConvertStaged();
        if (_staging is null)
        {
            (_height, _width, _format) = (height, width, image.PixelFormat);
            _stagingCapacity = (int)Math.Clamp(StagingBytes / rowBytes, 1, _maxRunLength);
            _staging = empty([_stagingCapacity, height, width, 4], ScalarType.Byte);
        }
        pixels.CopyTo(_staging.bytes.Slice((int)(_staged * rowBytes), (int)rowBytes));
        _staged++;
        Count++;
    }

    /// <summary>Returns all images added so far as one <c>uint8 [N, C, S, S]</c> tensor and starts over.</summary>
    public Tensor Build()
    {
        ConvertStaged();
        Tensor result = _converted.Count switch
        {
            0 => empty([0, _preprocessing.Channels, _preprocessing.ImageSize, _preprocessing.ImageSize], ScalarType.Byte),
            1 => _converted[0],
            _ => cat(_converted, 0),
        };
        if (_converted.Count > 1)
            foreach (var t in _converted) t.Dispose();
        _converted.Clear();
        Count = 0;
        return result;
    }

    public void Dispose()
    {
        _staging?.Dispose();
        _staging = null;
        foreach (var t in _converted) t.Dispose();
        _converted.Clear();
    }

    private void ConvertStaged()
    {
        if (_staging is null) return;
        using (NewDisposeScope())
        {
            int size = _preprocessing.ImageSize;
            var hwc = _staging.narrow(0, 0, _staged);
            // Pick R, G, B out of BGRA or RGBA (alpha is dropped) and go to NCHW float.
            long[] rgb = _format == MLPixelFormat.Bgra32 ? [2, 1, 0] : [0, 1, 2];
            var x = hwc.index_select(3, tensor(rgb)).permute(0, 3, 1, 2).to(ScalarType.Float32);
            if (_preprocessing.Channels == 1)
                x = x.mul(tensor(new[] { 0.299f, 0.587f, 0.114f }).view(1, 3, 1, 1)).sum(1, keepdim: true);
            var (height, width) = _preprocessing.ResizeTarget(_height, _width);
            if (_height != height || _width != width)
                x = nn.functional.interpolate(x, [height, width], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
            if (height != size || width != size)
                x = x.narrow(2, (height - size) / 2, size).narrow(3, (width - size) / 2, size);
            // Contiguous NCHW, not the channels-last strides the permute leaves: libtorch 2.10's oneDNN convolution on
            // channels-last input computes wrong outputs on AVX-512 CPUs with more than one thread for some channel counts
            // (e.g. 33-45 output channels), and every later tensor would inherit the layout.
            _converted.Add(x.round_().clamp_(0, 255).to(ScalarType.Byte).contiguous().MoveToOuterDisposeScope());
        }
        _staging.Dispose();
        _staging = null;
        _staged = 0;
    }
}

using Lightweight.ML.Data;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Data;

[TestClass]
public sealed class ImageBatchBuilderTests
{
    private static MLImage Solid(int width, int height, MLPixelFormat format, byte r, byte g, byte b, byte a = 255)
    {
        var pixels = new byte[width * height * 4];
        for (int i = 0; i < pixels.Length; i += 4)
        {
            if (format == MLPixelFormat.Bgra32) (pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]) = (b, g, r, a);
            else (pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]) = (r, g, b, a);
        }
        return MLImage.CreateFromPixels(width, height, format, pixels);
    }

    [TestMethod]
    public void MixedSizesAndPixelFormatsBecomeOneRgbBatchInOrder()
    {
        using var scope = NewDisposeScope();
        using var builder = new ImageBatchBuilder(new ImagePreprocessing(16, 3));
        using (var a = Solid(16, 16, MLPixelFormat.Bgra32, 200, 10, 30)) builder.Add(a);
        using (var b = Solid(40, 25, MLPixelFormat.Rgba32, 5, 250, 100)) builder.Add(b);
        using (var c = Solid(16, 16, MLPixelFormat.Bgra32, 0, 0, 255, 0)) builder.Add(c);
        Assert.AreEqual(3, builder.Count);
        var batch = builder.Build();
        Assert.AreEqual(0, builder.Count);
        CollectionAssert.AreEqual(new long[] { 3, 3, 16, 16 }, batch.shape);
        Assert.AreEqual(ScalarType.Byte, batch.dtype);
        // A solid colour stays that colour through resizing; channels come out as R, G, B.
        CollectionAssert.AreEqual(new byte[] { 200, 10, 30 }, batch[0, .., 7, 9].data<byte>().ToArray());
        CollectionAssert.AreEqual(new byte[] { 5, 250, 100 }, batch[1, .., 3, 12].data<byte>().ToArray());
        CollectionAssert.AreEqual(new byte[] { 0, 0, 255 }, batch[2, .., 0, 0].data<byte>().ToArray());
        Assert.AreEqual(0L, batch[1].max().item<byte>() - 250);
    }

    [TestMethod]
    [DataRow(3, 1.0)]
    [DataRow(1, 1.0)]
    [DataRow(3, 0.875)]
    public void BatchesAreContiguousNchw(int channels, double centerCropFraction)
    {
        // Channels-last strides would reach the network: libtorch 2.10's oneDNN convolution is wrong on them on AVX-512
        // CPUs (OnnxExportTests compare every architecture's TorchSharp forward from these batches with ONNX Runtime).
        using var scope = NewDisposeScope();
        using var builder = new ImageBatchBuilder(new ImagePreprocessing(16, channels, centerCropFraction: centerCropFraction));
        using (var a = Solid(16, 16, MLPixelFormat.Bgra32, 1, 2, 3)) builder.Add(a);
        using (var b = Solid(20, 30, MLPixelFormat.Rgba32, 4, 5, 6)) builder.Add(b);
        var batch = builder.Build();
        CollectionAssert.AreEqual(new long[] { 2, channels, 16, 16 }, batch.shape);
        Assert.IsTrue(batch.is_contiguous(), $"strides [{string.Join(", ", batch.stride())}]");
    }

    [TestMethod]
    public void CenterCropKeepsAspectRatioAndCutsTheMiddle()
    {
        using var scope = NewDisposeScope();
        // 64 wide × 32 high: the left quarter red, the rest green.
        var pixels = new byte[64 * 32 * 4];
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 64; x++)
                (pixels[(y * 64 + x) * 4 + 2], pixels[(y * 64 + x) * 4 + 1], pixels[(y * 64 + x) * 4 + 3]) = x < 16 ? ((byte)255, (byte)0, (byte)255) : ((byte)0, (byte)255, (byte)255);
        using var image = MLImage.CreateFromPixels(64, 32, MLPixelFormat.Bgra32, pixels);

        var cropped = new ImagePreprocessing(16, 3, centerCropFraction: 0.875);
        Assert.AreEqual((18, 36), cropped.ResizeTarget(32, 64), "shorter side to round(16 / 0.875) = 18, aspect kept");
        using var centre = new ImageBatchBuilder(cropped);
        centre.Add(image);
        var c = centre.Build();
        CollectionAssert.AreEqual(new long[] { 1, 3, 16, 16 }, c.shape);
        Assert.AreEqual(0, c[0, 0].max().item<byte>(), "the red left quarter is outside the central square");

        using var squash = new ImageBatchBuilder(new ImagePreprocessing(16, 3));
        squash.Add(image);
        Assert.AreEqual(255, squash.Build()[0, 0, 8, 0].item<byte>(), "squashing keeps the whole width");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImagePreprocessing(16, 3, centerCropFraction: 1.5));
    }

    [TestMethod]
    public void GrayscaleUsesLuma()
    {
        using var scope = NewDisposeScope();
        using var builder = new ImageBatchBuilder(new ImagePreprocessing(16, 1));
        using (var red = Solid(20, 20, MLPixelFormat.Bgra32, 255, 0, 0)) builder.Add(red);
        var batch = builder.Build();
        CollectionAssert.AreEqual(new long[] { 1, 1, 16, 16 }, batch.shape);
        Assert.AreEqual((byte)Math.Round(0.299 * 255), batch[0, 0, 5, 5].item<byte>());
    }

    [TestMethod]
    public void NormalizeAppliesMeanAndStdPerChannel()
    {
        using var scope = NewDisposeScope();
        var preprocessing = new ImagePreprocessing(16, 3, mean: [0.5f, 0.25f, 0f], std: [0.5f, 0.25f, 1f]);
        var pixels = tensor(new byte[] { 255, 0, 51 }, ScalarType.Byte).view(1, 3, 1, 1);
        var x = preprocessing.Normalize(pixels, CPU);
        var values = x.data<float>().ToArray();
        Assert.AreEqual(1f, values[0], 1e-6f);     // (1 - 0.5) / 0.5
        Assert.AreEqual(-1f, values[1], 1e-6f);    // (0 - 0.25) / 0.25
        Assert.AreEqual(0.2f, values[2], 1e-6f);   // (0.2 - 0) / 1
    }

    [TestMethod]
    public void ManyImagesAreStagedInRuns()
    {
        using var scope = NewDisposeScope();
        using var builder = new ImageBatchBuilder(new ImagePreprocessing(16, 3));
        for (int i = 0; i < 600; i++)
            using (var image = Solid(28, 28, MLPixelFormat.Bgra32, (byte)(i % 256), 0, 0)) builder.Add(image);
        var batch = builder.Build();
        Assert.AreEqual(600L, batch.shape[0]);
        Assert.AreEqual((byte)(599 % 256), batch[599, 0, 8, 8].item<byte>());
        Assert.AreEqual((byte)(300 % 256), batch[300, 0, 8, 8].item<byte>());
    }

    [TestMethod]
    public void PreprocessingRejectsBadSettings()
    {
        Assert.AreEqual("imageSize", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImagePreprocessing(8, 3)).ParamName);
        Assert.AreEqual("channels", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImagePreprocessing(32, 2)).ParamName);
        Assert.AreEqual("mean", Assert.ThrowsExactly<ArgumentException>(() => new ImagePreprocessing(32, 3, mean: [0.5f])).ParamName);
        Assert.AreEqual("std", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImagePreprocessing(32, 1, std: [0f])).ParamName);
        CollectionAssert.AreEqual(new[] { (0.485f + 0.456f + 0.406f) / 3 }, new ImagePreprocessing(32, 1).Mean.ToArray());
    }
}

using Lightweight.ML.Models;

namespace Lightweight.ML.Tests.Sweep;

[TestClass]
public sealed class ModelProfilerTests
{
    /// <summary>MFLOPs (multiply-adds) at 224 px and 1000 classes as the architecture papers and torchvision list them.</summary>
    [TestMethod]
    [DataRow("shufflenetv2-0.5x", 41.0)]
    [DataRow("shufflenetv2-1.0x", 146.0)]
    [DataRow("shufflenetv2-1.5x", 299.0)]
    [DataRow("shufflenetv2-2.0x", 591.0)]
    [DataRow("mobilenetv2-1.0", 300.0)]
    [DataRow("ghostnet-1.0", 141.0)]
    [DataRow("shufflenetv1-g3-1.0x", 138.0)]
    public void MFlopsMatchThePublishedCounts(string name, double published)
    {
        var options = ModelNames.CreateOptions(name);
        options.ImageSize = 224;
        using var model = options.CreateModel(1000);
        double mflops = ModelProfiler.CountMFlops(model, 224);
        Assert.AreEqual(published, mflops, published * 0.03, $"{name}: {mflops:F1} MFLOPs");
    }

    [TestMethod]
    public void SmallInputStemCostsMorePerPixelAndCountingLeavesTheModelAsItWas()
    {
        using var small = new ShuffleNetV2(ShuffleNetV2Size.X0_5, 10, 3, smallInput: true);
        using var large = new ShuffleNetV2(ShuffleNetV2Size.X0_5, 10, 3, smallInput: false);
        small.train();
        double s = ModelProfiler.CountMFlops(small, 32), l = ModelProfiler.CountMFlops(large, 32);
        Assert.IsTrue(s > 8 * l, $"stride-1 stem without max-pool: 16× the spatial work of the stages ({s:F2} vs {l:F2})");
        Assert.IsTrue(small.training, "the model's mode is restored");
        Assert.AreEqual(s, ModelProfiler.CountMFlops(small, 32), "hooks are removed after counting");
    }

    [TestMethod]
    public void MeasureReportsSizeComputeAndPositiveLatencies()
    {
        var options = ModelNames.CreateOptions("shufflenetv2-0.5x");
        options.ImageSize = 32;
        var profile = ModelProfiler.Measure(options, numClasses: 10, batchSize: 4, runs: 3, warmup: 1);
        using var reference = options.CreateModel(10);
        Assert.AreEqual(ModelProfiler.CountParameters(reference), profile.Parameters);
        Assert.AreEqual("shufflenetv2-0.5x", profile.Model);
        Assert.IsTrue(profile.MFlops > 0 && profile.SingleImageMilliseconds > 0 && profile.BatchMillisecondsPerImage > 0, profile.ToString());
        Assert.AreEqual(Environment.ProcessorCount, profile.Threads, "NumberOfThreads null: one per core");
        Assert.AreEqual(ScoringEngine.OnnxRuntime, profile.Engine, "measured in the engine the fitted model scores with (Auto: ONNX Runtime)");
        options.ScoringEngine = ScoringEngine.TorchSharp;
        var torchProfile = ModelProfiler.Measure(options, numClasses: 10, batchSize: 4, runs: 3, warmup: 1);
        Assert.AreEqual(ScoringEngine.TorchSharp, torchProfile.Engine);
        Assert.IsTrue(torchProfile.SingleImageMilliseconds > 0, torchProfile.ToString());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ModelProfiler.Measure(options, numClasses: 0));
    }
}

using System.Globalization;
using Lightweight.ML.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Export;

/// <summary>
/// Numerical parity with the PyTorch originals: weights, inputs and eval-mode logits written by
/// <c>tools/parity/make_fixtures.py</c> (torchvision 0.14; GhostNet transcribed from timm) must give the same logits
/// here. The fixtures carry random weights and random batch-norm running statistics, so eval-mode batch norm matters.
/// <para>Committed fixtures (the smallest variants) are in <c>Fixtures/parity</c>. Set <c>LWML_PARITY_DIR</c> to a folder
/// written by <c>make_fixtures.py --all --out DIR</c> to check every size. Set <c>LWML_PARITY_EXPORT_DIR</c> to also write
/// each model back out (ModelWeights.Save) with its C# logits, for <c>make_fixtures.py --verify DIR</c> in PyTorch.</para>
/// </summary>
[TestClass]
public sealed class ParityTests
{
    /// <summary>
    /// Fixture name (the model name in make_fixtures.py) → the Lightweight.ML model of the same architecture, given the
    /// class count. Adding a model to the parity check is one line here.
    /// </summary>
    private static readonly Dictionary<string, Func<int, ImageClassifierModel>> Models = new()
    {
        ["shufflenet_v2_x0_5"] = n => new ShuffleNetV2(ShuffleNetV2Size.X0_5, n),
        ["shufflenet_v2_x1_0"] = n => new ShuffleNetV2(ShuffleNetV2Size.X1_0, n),
        ["shufflenet_v2_x1_5"] = n => new ShuffleNetV2(ShuffleNetV2Size.X1_5, n),
        ["shufflenet_v2_x2_0"] = n => new ShuffleNetV2(ShuffleNetV2Size.X2_0, n),
        ["ghostnet_050"] = n => new GhostNet(n, width: 0.5f),
        ["ghostnet_100"] = n => new GhostNet(n, width: 1.0f),
        ["ghostnet_130"] = n => new GhostNet(n, width: 1.3f),
        ["mobilenet_v2"] = n => new MobileNetV2(n, width: 1.0f),
        ["mobilenet_v2_050"] = n => new MobileNetV2(n, width: 0.5f),
    };

    /// <summary>Largest allowed |logit difference| (float32 PyTorch vs float32 libtorch, different kernels).</summary>
    private const float Tolerance = 1e-4f;

    private static string CommittedFolder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "parity");

    public TestContext TestContext { get; set; } = null!;

    public static IEnumerable<object[]> CommittedFixtures => FixtureNames(CommittedFolder).Select(name => new object[] { name });

    [TestMethod]
    public void CommittedFixturesArePresent()
    {
        var names = FixtureNames(CommittedFolder).ToList();
        foreach (var expected in new[] { "shufflenet_v2_x0_5", "ghostnet_050", "mobilenet_v2_050" })
            CollectionAssert.Contains(names, expected);
    }

    [TestMethod]
    [DynamicData(nameof(CommittedFixtures))]
    public void CommittedFixtureMatchesPyTorch(string name)
    {
        if (!Models.ContainsKey(name))
            Assert.Inconclusive($"No Lightweight.ML model is registered for fixture '{name}'; add its line to ParityTests.Models.");
        Check(CommittedFolder, name);
    }

    [TestMethod]
    public void EveryVariantInParityDirMatchesPyTorch()
    {
        var folder = Environment.GetEnvironmentVariable("LWML_PARITY_DIR");
        if (string.IsNullOrEmpty(folder))
            Assert.Inconclusive("LWML_PARITY_DIR is not set; run tools/parity/make_fixtures.py --all --out DIR and set it to DIR.");
        var names = FixtureNames(folder).ToList();
        Assert.IsNotEmpty(names, $"No *.io.safetensors fixtures in {folder}.");
        var unknown = names.Where(n => !Models.ContainsKey(n)).ToList();
        foreach (var name in names.Except(unknown)) Check(folder, name);
        if (unknown.Count > 0)
            Assert.Inconclusive($"Checked {names.Count - unknown.Count} model(s); no Lightweight.ML model registered for: {string.Join(", ", unknown)}.");
    }

    private static IEnumerable<string> FixtureNames(string folder) => Directory.Exists(folder)
        ? Directory.GetFiles(folder, "*.io.safetensors").Select(f => Path.GetFileName(f)[..^".io.safetensors".Length]).Order(StringComparer.Ordinal)
        : [];

    /// <summary>Loads NAME.safetensors (strict), runs NAME.io.safetensors' input in eval mode, compares with PyTorch's logits.</summary>
    private void Check(string folder, string name)
    {
        var ioPath = Path.Combine(folder, name + ".io.safetensors");
        var io = Safetensors.Load(ioPath);
        try
        {
            Check(folder, name, ioPath, io);
        }
        finally
        {
            foreach (var t in io.Values) t.Dispose();
        }
    }

    private void Check(string folder, string name, string ioPath, Dictionary<string, Tensor> io)
    {
        using var scope = NewDisposeScope();
        int numClasses = int.Parse(Safetensors.ReadMetadata(ioPath)["num_classes"], CultureInfo.InvariantCulture);
        using var model = Models[name](numClasses);
        var weightsPath = Path.Combine(folder, name + ".safetensors");
        var result = ModelWeights.Load(model, weightsPath);
        Assert.AreEqual(model.state_dict().Count, result.LoadedKeys.Count, "every parameter and buffer comes from the file");

        model.eval();
        Tensor logits, batchStatistics;
        using (no_grad())
        {
            logits = model.call(io["input"]);
            if (Environment.GetEnvironmentVariable("LWML_PARITY_EXPORT_DIR") is { Length: > 0 } export)
                Export(model, export, name, io["input"], logits, numClasses);
            // The same network with batch statistics instead of running ones (this updates the running statistics: last).
            foreach (var norm in model.modules().OfType<BatchNorm2d>()) norm.train();
            batchStatistics = model.call(io["input"]);
        }
        var expected = io["logits"];
        CollectionAssert.AreEqual(expected.shape, logits.shape);
        float difference = (logits - expected).abs().max().item<float>();
        double toFloat64 = (logits.to(ScalarType.Float64) - io["logits_f64"]).abs().max().item<double>();
        float batchNormEffect = (batchStatistics - expected).abs().max().item<float>();
        TestContext.WriteLine($"{name}: max |C# - PyTorch| = {difference:E2} (vs float64 reference {toFloat64:E2}), " +
                              $"max |logit| = {expected.abs().max().item<float>():F3}, eval-vs-batch-statistics effect {batchNormEffect:F3}");
        Assert.IsLessThan(Tolerance, difference, $"{name}: logits differ from PyTorch's by {difference}");
        Assert.IsGreaterThan(100 * Tolerance, batchNormEffect, $"{name}: the fixture must make eval-mode batch norm matter");
    }

    /// <summary>Writes the model as C# holds it, with its C# logits, for <c>make_fixtures.py --verify</c> (C# → PyTorch).</summary>
    private static void Export(ImageClassifierModel model, string folder, string name, Tensor input, Tensor logits, int numClasses)
    {
        ModelWeights.Save(model, Path.Combine(folder, name + ".safetensors"));
        Safetensors.Save(Path.Combine(folder, name + ".io.safetensors"),
            new Dictionary<string, Tensor> { ["input"] = input, ["logits"] = logits },
            new Dictionary<string, string> { ["model"] = name, ["num_classes"] = numClasses.ToString(CultureInfo.InvariantCulture) });
    }
}

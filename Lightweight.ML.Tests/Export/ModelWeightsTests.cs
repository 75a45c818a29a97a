using System.Buffers.Binary;
using System.Text;
using Lightweight.ML.Models;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Export;

/// <summary>Saving and loading model weights: round trips, formats, element types and the three load modes.</summary>
[TestClass]
public sealed class ModelWeightsTests
{
    /// <summary>A small model with seeded random weights and batch-norm statistics moved away from their defaults.</summary>
    internal static ImageClassifierModel Make(string architecture, int seed, int classes = 5)
    {
        manual_seed(seed);
        ImageClassifierModel model = architecture switch
        {
            "ShuffleNetV2" => new ShuffleNetV2(ShuffleNetV2Size.X0_5, classes, smallInput: true),
            "GhostNet" => new GhostNet(classes, width: 0.5f, smallInput: true),
            _ => throw new ArgumentOutOfRangeException(nameof(architecture)),
        };
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            model.train();
            model.call(randn(4, 3, 16, 16)); // updates running_mean, running_var, num_batches_tracked
        }
        model.eval();
        return model;
    }

    private static Tensor Logits(ImageClassifierModel model, int seed = 99)
    {
        using var scope = NewDisposeScope();
        using var generator = new TorchSharp.torch.Generator((ulong)seed);
        using (no_grad())
            return model.call(randn([2, 3, 16, 16], generator: generator)).MoveToOuterDisposeScope();
    }

    private static Dictionary<string, Tensor> Snapshot(ImageClassifierModel model)
        => model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    private static void AssertSameState(Dictionary<string, Tensor> expected, ImageClassifierModel model, Func<string, bool>? only = null)
    {
        foreach (var (key, value) in model.state_dict())
            if (only is null || only(key))
                Assert.IsTrue(expected[key].Equals(value), $"{key} differs");
    }

    [TestMethod]
    [DataRow("ShuffleNetV2", ".safetensors")]
    [DataRow("GhostNet", ".safetensors")]
    [DataRow("ShuffleNetV2", ".dat")]
    [DataRow("GhostNet", ".dat")]
    public void SaveLoadGivesIdenticalOutputsAndResaveIdenticalBytes(string architecture, string extension)
    {
        var folder = TestData.NewTempFolder();
        string first = Path.Combine(folder, "a" + extension), second = Path.Combine(folder, "b" + extension);
        using var source = Make(architecture, seed: 1);
        using var target = Make(architecture, seed: 2);
        using var expected = Logits(source);
        using (var before = Logits(target))
            Assert.IsFalse(before.allclose(expected), "differently seeded models differ before loading");

        ModelWeights.Save(source, first);
        var result = ModelWeights.Load(target, first);
        Assert.HasCount(source.state_dict().Count, result.LoadedKeys);
        Assert.IsTrue(result.ClassifierLoaded);
        AssertSameState(Snapshot(source), target);
        using (var after = Logits(target))
            Assert.IsTrue(after.Equals(expected), "identical outputs after loading");

        ModelWeights.Save(target, second);
        Assert.IsTrue(File.ReadAllBytes(first).AsSpan().SequenceEqual(File.ReadAllBytes(second)), "re-saving gives the same bytes");
        Assert.HasCount(2, Directory.GetFiles(folder), "no temporary file is left behind");
    }

    [TestMethod]
    public void DatFilesInterchangeWithTorchSharpsModuleSaveAndLoad()
    {
        var folder = TestData.NewTempFolder();
        using var source = Make("GhostNet", seed: 3);
        string byTorchSharp = Path.Combine(folder, "torchsharp.dat"), byUs = Path.Combine(folder, "ours.dat");
        source.save(byTorchSharp);
        ModelWeights.Save(source, byUs);
        Assert.IsTrue(File.ReadAllBytes(byTorchSharp).AsSpan().SequenceEqual(File.ReadAllBytes(byUs)), "the same bytes as Module.save");

        using var viaUs = Make("GhostNet", seed: 4);
        ModelWeights.Load(viaUs, byTorchSharp);
        AssertSameState(Snapshot(source), viaUs);
        using var viaTorchSharp = Make("GhostNet", seed: 5);
        viaTorchSharp.load(byUs);
        AssertSameState(Snapshot(source), viaTorchSharp);
    }

    [TestMethod]
    public void SafetensorsFileHasTorchvisionKeysMetadataAndAPaddedHeader()
    {
        var path = Path.Combine(TestData.NewTempFolder(), "w.safetensors");
        using var model = Make("ShuffleNetV2", seed: 6);
        ModelWeights.Save(model, path, new Dictionary<string, string> { ["note"] = "hello" });
        var bytes = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.AreEqual(0, (8 + headerLength) % 8, "the data section starts 8-byte aligned");
        var header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        StringAssert.StartsWith(header, "{\"__metadata__\":{");
        StringAssert.Contains(header, "\"conv1.0.weight\":{\"dtype\":\"F32\",\"shape\":[24,3,3,3],\"data_offsets\":[");
        StringAssert.Contains(header, "\"stage2.0.branch1.1.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[]");
        var metadata = Safetensors.ReadMetadata(path);
        Assert.AreEqual("pt", metadata["format"]);
        Assert.AreEqual("ShuffleNetV2", metadata[ModelWeights.ArchitectureKey]);
        Assert.AreEqual("5", metadata["lightweight_ml.num_classes"]);
        Assert.AreEqual("hello", metadata["note"]);
        var tensors = Safetensors.Load(path);
        try
        {
            CollectionAssert.AreEquivalent(model.state_dict().Keys.ToList(), tensors.Keys.ToList());
            Assert.AreEqual(1L, tensors["conv1.1.num_batches_tracked"].item<long>());
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    [TestMethod]
    public void EveryElementTypeRoundTrips()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(TestData.NewTempFolder(), "all.safetensors");
        var source = new Dictionary<string, Tensor>
        {
            ["f64"] = tensor(new[] { 1.5, -2.25, double.MaxValue }),
            ["f32"] = randn(3, 4),
            ["f16"] = randn(5).to(ScalarType.Float16),
            ["bf16"] = randn(2, 2).to(ScalarType.BFloat16),
            ["i64"] = tensor(new[] { long.MinValue, 0L, long.MaxValue }),
            ["i32"] = tensor(new[] { int.MinValue, 7 }),
            ["i16"] = tensor(new short[] { -3, 3 }),
            ["i8"] = tensor(new sbyte[] { -128, 127 }),
            ["u8"] = tensor(new byte[] { 0, 255, 9 }),
            ["bool"] = tensor(new[] { true, false, true }),
            ["scalar"] = tensor(3.25f),
            ["empty"] = zeros(0, 3),
            ["strided"] = arange(12, dtype: ScalarType.Float32).view(3, 4).t(), // non-contiguous: written row-major
        };
        Safetensors.Save(path, source, new Dictionary<string, string> { ["k"] = "v" });
        var loaded = Safetensors.Load(path);
        CollectionAssert.AreEqual(source.Keys.ToList(), loaded.Keys.ToList(), "file order is the given order");
        foreach (var (name, expected) in source)
        {
            Assert.AreEqual(expected.dtype, loaded[name].dtype, name);
            CollectionAssert.AreEqual(expected.shape, loaded[name].shape, name);
            Assert.IsTrue(expected.Equals(loaded[name]), name);
        }
        Assert.AreEqual("v", Safetensors.ReadMetadata(path)["k"]);
        foreach (var t in loaded.Values) t.Dispose();
    }

    [TestMethod]
    [DataRow(ScalarType.Float64)]
    [DataRow(ScalarType.Float16)]
    [DataRow(ScalarType.BFloat16)]
    public void StoredFloatsAreConvertedToTheModelsType(ScalarType stored)
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(TestData.NewTempFolder(), "converted.safetensors");
        using var source = Make("ShuffleNetV2", seed: 7);
        var state = source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.is_floating_point() ? kv.Value.to(stored) : kv.Value);
        Safetensors.Save(path, state);
        using var target = Make("ShuffleNetV2", seed: 8);
        ModelWeights.Load(target, path);
        foreach (var (key, value) in target.state_dict())
        {
            Assert.AreEqual(source.state_dict()[key].dtype, value.dtype, key);
            Assert.IsTrue(state[key].to(value.dtype).Equals(value), $"{key} holds the stored values, converted");
        }
    }

    [TestMethod]
    public void StrictLoadWithAnotherClassCountNamesTheClassifierAndChangesNothing()
    {
        var path = Path.Combine(TestData.NewTempFolder(), "ten.safetensors");
        using (var ten = Make("ShuffleNetV2", seed: 9, classes: 10)) ModelWeights.Save(ten, path);
        using var five = Make("ShuffleNetV2", seed: 10, classes: 5);
        var before = Snapshot(five);
        var e = Assert.ThrowsExactly<WeightsMismatchException>(() => ModelWeights.Load(five, path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "fc.weight: file [10, 1024] F32, model [5, 1024] Float32");
        StringAssert.Contains(e.Message, "Only the classifier ('fc') differs");
        CollectionAssert.AreEquivalent(new[] { "fc.weight", "fc.bias" }, e.Mismatches.Select(m => m[..m.IndexOf(':')]).ToList());
        Assert.IsEmpty(e.MissingKeys);
        Assert.IsEmpty(e.UnexpectedKeys);
        AssertSameState(before, five);
    }

    [TestMethod]
    [DataRow("ShuffleNetV2", "fc")]
    [DataRow("GhostNet", "classifier")]
    public void SkipClassifierLoadsEverythingButTheClassifier(string architecture, string classifier)
    {
        var path = Path.Combine(TestData.NewTempFolder(), "ten.safetensors");
        using var ten = Make(architecture, seed: 11, classes: 10);
        ModelWeights.Save(ten, path);
        using var five = Make(architecture, seed: 12, classes: 5);
        var before = Snapshot(five);
        var result = ModelWeights.Load(five, path, WeightsLoadMode.SkipClassifier);
        bool IsClassifier(string key) => key.StartsWith(classifier + ".", StringComparison.Ordinal);
        AssertSameState(Snapshot(ten), five, key => !IsClassifier(key));
        AssertSameState(before, five, IsClassifier);
        Assert.IsFalse(result.ClassifierLoaded);
        CollectionAssert.AreEquivalent(new[] { classifier + ".weight", classifier + ".bias" }, result.KeptKeys.ToList());
        CollectionAssert.AreEquivalent(new[] { classifier + ".weight", classifier + ".bias" }, result.IgnoredFileKeys.ToList());
    }

    [TestMethod]
    public void ClassifierWhenShapesMatchLoadsTheClassifierOnlyWhenItFits()
    {
        var path = Path.Combine(TestData.NewTempFolder(), "five.safetensors");
        using var source = Make("GhostNet", seed: 13, classes: 5);
        ModelWeights.Save(source, path);
        using var same = Make("GhostNet", seed: 14, classes: 5);
        Assert.IsTrue(ModelWeights.Load(same, path, WeightsLoadMode.ClassifierWhenShapesMatch).ClassifierLoaded);
        AssertSameState(Snapshot(source), same);

        using var other = Make("GhostNet", seed: 15, classes: 3);
        var before = Snapshot(other);
        Assert.IsFalse(ModelWeights.Load(other, path, WeightsLoadMode.ClassifierWhenShapesMatch).ClassifierLoaded);
        AssertSameState(before, other, key => key.StartsWith("classifier.", StringComparison.Ordinal));
        AssertSameState(Snapshot(source), other, key => !key.StartsWith("classifier.", StringComparison.Ordinal));
    }

    [TestMethod]
    public void WeightsOfAnotherArchitectureAreRejectedWithTheKeys()
    {
        var path = Path.Combine(TestData.NewTempFolder(), "ghost.safetensors");
        using (var ghost = Make("GhostNet", seed: 16)) ModelWeights.Save(ghost, path);
        using var shuffle = Make("ShuffleNetV2", seed: 17);
        var e = Assert.ThrowsExactly<WeightsMismatchException>(() => ModelWeights.Load(shuffle, path, WeightsLoadMode.SkipClassifier));
        StringAssert.Contains(e.Message, "The file was saved from a GhostNet.");
        StringAssert.Contains(e.Message, "missing from the file: conv1.0.weight");
        StringAssert.Contains(e.Message, "more)");
        CollectionAssert.Contains(e.UnexpectedKeys.ToList(), "conv_stem.weight");
        int tolerated = shuffle.state_dict().Keys.Count(k => k.EndsWith(".num_batches_tracked", StringComparison.Ordinal));
        Assert.AreEqual(shuffle.state_dict().Count - 2 - tolerated, e.MissingKeys.Count,
            "all are missing but the skipped classifier and num_batches_tracked (tolerated)");
    }

    [TestMethod]
    public void MissingNumBatchesTrackedIsToleratedAsInOlderPyTorchFiles()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(TestData.NewTempFolder(), "old.safetensors");
        using var source = Make("ShuffleNetV2", seed: 18);
        Safetensors.Save(path, source.state_dict().Where(kv => !kv.Key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)));
        using var target = Make("ShuffleNetV2", seed: 19);
        var result = ModelWeights.Load(target, path);
        Assert.IsTrue(result.KeptKeys.Count > 0 && result.KeptKeys.All(k => k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)));
        using var expected = Logits(source);
        using var actual = Logits(target);
        Assert.IsTrue(actual.Equals(expected));
    }

    [TestMethod]
    public void ClassifierIsFoundByShape()
    {
        using var shuffle = new ShuffleNetV2(ShuffleNetV2Size.X0_5, numClasses: 7);
        Assert.AreEqual("fc", Lightweight.ML.Export.ClassifierHead.Find(shuffle));
        using var ghost = new GhostNet(numClasses: 1280, width: 0.5f); // conv_head also has 1280 outputs, but is a Conv2d
        Assert.AreEqual("classifier", Lightweight.ML.Export.ClassifierHead.Find(ghost));
        ghost.ResetClassifier(3);
        Assert.AreEqual("classifier", Lightweight.ML.Export.ClassifierHead.Find(ghost));
    }
}

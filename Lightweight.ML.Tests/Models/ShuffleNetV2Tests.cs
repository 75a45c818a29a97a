using Lightweight.ML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Models;

[TestClass]
public sealed class ShuffleNetV2Tests
{
    [TestMethod]
    [DataRow(ShuffleNetV2Size.X0_5, 1_366_792L)]
    [DataRow(ShuffleNetV2Size.X1_0, 2_278_604L)]
    [DataRow(ShuffleNetV2Size.X1_5, 3_503_624L)]
    [DataRow(ShuffleNetV2Size.X2_0, 7_393_996L)]
    public void ParameterCountEqualsTorchvision(ShuffleNetV2Size size, long expected)
    {
        using var model = new ShuffleNetV2(size, numClasses: 1000);
        Assert.AreEqual(expected, CountParameters(model));
    }

    [TestMethod]
    public void SmallInputStemKeepsParametersAndKeys()
    {
        using var large = new ShuffleNetV2(ShuffleNetV2Size.X0_5, 10);
        using var small = new ShuffleNetV2(ShuffleNetV2Size.X0_5, 10, smallInput: true);
        CollectionAssert.AreEqual(large.state_dict().Keys.ToList(), small.state_dict().Keys.ToList());
        Assert.AreEqual(CountParameters(large), CountParameters(small));
    }

    [TestMethod]
    public void StateDictKeysFollowTorchvision()
    {
        using var model = new ShuffleNetV2(ShuffleNetV2Size.X1_0, 1000);
        var keys = model.state_dict().Keys.ToHashSet();
        string[] expected =
        [
            "conv1.0.weight", "conv1.1.running_mean", "stage2.0.branch1.0.weight", "stage2.0.branch1.2.weight",
            "stage2.0.branch2.0.weight", "stage2.0.branch2.3.weight", "stage2.3.branch2.6.num_batches_tracked",
            "stage3.7.branch2.5.weight", "stage4.0.branch1.3.running_var", "conv5.0.weight", "conv5.1.bias",
            "fc.weight", "fc.bias",
        ];
        foreach (var key in expected) Assert.IsTrue(keys.Contains(key), $"missing state_dict key {key}");
        Assert.IsFalse(keys.Any(k => k.StartsWith("stage2.1.branch1")), "stride-1 units have an empty branch1");
        Assert.AreEqual(1000L, model.state_dict()["fc.weight"].shape[0]);
        Assert.AreEqual(1024L, model.state_dict()["fc.weight"].shape[1]);
    }

    [TestMethod]
    [DataRow(3, 224, false)]
    [DataRow(1, 32, true)]
    [DataRow(3, 48, true)]
    public void OutputShape(int channels, int size, bool smallInput)
    {
        using var scope = NewDisposeScope();
        using var model = new ShuffleNetV2(ShuffleNetV2Size.X0_5, numClasses: 7, inChannels: channels, smallInput: smallInput);
        model.eval();
        var logits = model.call(randn(2, channels, size, size));
        CollectionAssert.AreEqual(new long[] { 2, 7 }, logits.shape);
        var features = model.ForwardFeatures(randn(1, channels, size, size));
        long expectedSide = smallInput ? size / 8 : size / 32;
        CollectionAssert.AreEqual(new long[] { 1, 1024, expectedSide, expectedSide }, features.shape);
    }

    [TestMethod]
    public void ChannelShuffleMatchesHandComputedPermutation()
    {
        using var scope = NewDisposeScope();
        // 6 channels in 2 groups of 3: [0 1 2 | 3 4 5] -> interleaved [0 3 1 4 2 5].
        var x = arange(6, dtype: ScalarType.Float32).view(1, 6, 1, 1).expand(2, 6, 2, 2);
        var shuffled = ShuffleNetV2.ChannelShuffle(x, 2);
        CollectionAssert.AreEqual(new float[] { 0, 3, 1, 4, 2, 5 }, shuffled[1, .., 1, 1].data<float>().ToArray());
        // 3 groups of 2: [0 1 | 2 3 | 4 5] -> [0 2 4 1 3 5].
        CollectionAssert.AreEqual(new float[] { 0, 2, 4, 1, 3, 5 }, ShuffleNetV2.ChannelShuffle(x, 3)[0, .., 0, 0].data<float>().ToArray());
        Assert.ThrowsExactly<ArgumentException>(() => ShuffleNetV2.ChannelShuffle(x, 4));
    }

    [TestMethod]
    public void ResetClassifierChangesOnlyTheHead()
    {
        using var scope = NewDisposeScope();
        using var model = new ShuffleNetV2(ShuffleNetV2Size.X0_5, 10, smallInput: true);
        var keys = model.state_dict().Keys.ToList();
        var stem = model.state_dict()["conv1.0.weight"].clone();
        model.ResetClassifier(4);
        Assert.AreEqual(4, model.NumClasses);
        CollectionAssert.AreEqual(keys, model.state_dict().Keys.ToList());
        Assert.IsTrue(stem.eq(model.state_dict()["conv1.0.weight"]).all().item<bool>());
        model.eval();
        CollectionAssert.AreEqual(new long[] { 3, 4 }, model.call(randn(3, 3, 32, 32)).shape);
    }

    [TestMethod]
    public void BadArgumentsAreRejected()
    {
        Assert.AreEqual("size", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ShuffleNetV2((ShuffleNetV2Size)42)).ParamName);
        Assert.AreEqual("numClasses", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ShuffleNetV2(numClasses: 0)).ParamName);
        Assert.AreEqual("inChannels", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ShuffleNetV2(inChannels: 2)).ParamName);
    }

    internal static long CountParameters(nn.Module model) => model.parameters().Sum(p => p.numel());
}

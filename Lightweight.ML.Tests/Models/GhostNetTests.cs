using Lightweight.ML.Models;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Models;

[TestClass]
public sealed class GhostNetTests
{
    // Exact counts of timm's ghostnet_100 table (≈5.18 M at width 1.0), confirmed against a PyTorch transcription of
    // timm/models/ghostnet.py (v1) with identical state_dict keys and shapes.
    [TestMethod]
    [DataRow(1.0f, 1000, 3, 5_182_508L)]
    [DataRow(0.5f, 1000, 3, 2_587_292L)]
    [DataRow(1.3f, 1000, 3, 7_358_820L)]
    [DataRow(1.0f, 10, 1, 3_914_030L)]
    public void ParameterCountMatchesTimm(float width, int classes, int channels, long expected)
    {
        using var model = new GhostNet(classes, width, channels);
        Assert.AreEqual(expected, ShuffleNetV2Tests.CountParameters(model));
    }

    [TestMethod]
    public void StateDictKeysFollowTimm()
    {
        using var model = new GhostNet();
        var keys = model.state_dict().Keys.ToHashSet();
        string[] expected =
        [
            "conv_stem.weight", "bn1.weight", "blocks.0.0.ghost1.primary_conv.0.weight", "blocks.0.0.ghost1.cheap_operation.0.weight",
            "blocks.1.0.conv_dw.weight", "blocks.1.0.bn_dw.running_mean", "blocks.1.0.shortcut.0.weight", "blocks.3.0.se.conv_reduce.weight",
            "blocks.9.0.conv.weight", "conv_head.weight", "conv_head.bias", "classifier.weight", "classifier.bias",
        ];
        foreach (var key in expected) Assert.IsTrue(keys.Contains(key), $"missing state_dict key {key}");
        Assert.AreEqual(1280L, model.state_dict()["classifier.weight"].shape[1]);
    }

    [TestMethod]
    [DataRow(3, 224, false, 7L)]
    [DataRow(1, 32, true, 2L)]
    public void OutputShape(int channels, int size, bool smallInput, long featureSide)
    {
        using var scope = NewDisposeScope();
        using var model = new GhostNet(numClasses: 5, inChannels: channels, smallInput: smallInput);
        model.eval();
        CollectionAssert.AreEqual(new long[] { 2, 5 }, model.call(randn(2, channels, size, size)).shape);
        CollectionAssert.AreEqual(new long[] { 1, 960, featureSide, featureSide }, model.ForwardFeatures(randn(1, channels, size, size)).shape);
    }

    [TestMethod]
    public void TrainModeBackwardReachesEveryParameter()
    {
        using var scope = NewDisposeScope();
        using var model = new GhostNet(numClasses: 3, width: 0.5f, smallInput: true);
        model.train();
        var loss = nn.functional.cross_entropy(model.call(randn(4, 3, 32, 32)), tensor(new long[] { 0, 1, 2, 1 }));
        loss.backward();
        foreach (var (name, p) in model.named_parameters())
            Assert.IsNotNull(p.grad, $"no gradient for {name}");
    }

    [TestMethod]
    public void BadArgumentsAreRejected()
    {
        Assert.AreEqual("width", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new GhostNet(width: 0)).ParamName);
        Assert.AreEqual("width", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new GhostNet(width: float.NaN)).ParamName);
        Assert.AreEqual("numClasses", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new GhostNet(numClasses: 0)).ParamName);
        Assert.AreEqual("inChannels", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new GhostNet(inChannels: 4)).ParamName);
    }
}

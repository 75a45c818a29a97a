using Lightweight.ML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Models;

[TestClass]
public sealed class ShuffleNetV1Tests
{
    // Counts of a PyTorch transcription of Megvii's ShuffleNet-Series ShuffleNetV1 (network.py, blocks.py) extended to
    // g = 1, 2, 4 with the paper's Table 1 channels, identical state_dict keys and shapes. For g = 3 and 8 they agree
    // with Megvii's README (0.7 M / 1.9 M / 3.4 M / 5.4 M and 1.0 M / 2.4 M / 4.3 M / 6.5 M); the transcription counts
    // 37.6 / 137.5 / 292.4 / 524.0 MFLOPs at g = 3 (README: 38 / 138 / 292 / 524 M; the paper's 1.0× g = 3: 140 M).
    [TestMethod]
    [DataRow(ShuffleNetV1Size.X1_0, 1, 1_530_936L)]
    [DataRow(ShuffleNetV1Size.X1_0, 2, 1_732_848L)]
    [DataRow(ShuffleNetV1Size.X1_0, 3, 1_864_728L)]
    [DataRow(ShuffleNetV1Size.X1_0, 4, 1_967_344L)]
    [DataRow(ShuffleNetV1Size.X1_0, 8, 2_433_768L)]
    [DataRow(ShuffleNetV1Size.X0_5, 3, 717_324L)]
    [DataRow(ShuffleNetV1Size.X1_5, 3, 3_441_168L)]
    [DataRow(ShuffleNetV1Size.X2_0, 3, 5_449_776L)]
    [DataRow(ShuffleNetV1Size.X0_5, 8, 1_010_448L)]
    [DataRow(ShuffleNetV1Size.X1_5, 8, 4_268_952L)]
    [DataRow(ShuffleNetV1Size.X2_0, 8, 6_521_232L)]
    [DataRow(ShuffleNetV1Size.X0_5, 2, 643_320L)]
    [DataRow(ShuffleNetV1Size.X0_5, 4, 777_592L)]
    [DataRow(ShuffleNetV1Size.X1_5, 2, 3_272_400L)]
    public void ParameterCountMatchesReference(ShuffleNetV1Size size, int groups, long expected)
    {
        using var model = new ShuffleNetV1(size, groups, numClasses: 1000);
        Assert.AreEqual(expected, ShuffleNetV2Tests.CountParameters(model));
    }

    [TestMethod]
    public void StateDictKeysAndShapesFollowMegvii()
    {
        using var model = new ShuffleNetV1(ShuffleNetV1Size.X1_0, groups: 3);
        var sd = model.state_dict();
        Assert.HasCount(295, sd);
        (string Key, long[] Shape)[] expected =
        [
            ("first_conv.0.weight", [24, 3, 3, 3]), ("first_conv.1.running_mean", [24]),
            ("features.0.branch_main_1.0.weight", [60, 24, 1, 1]), // stage 2's first pointwise conv is not grouped
            ("features.0.branch_main_1.3.weight", [60, 1, 3, 3]),
            ("features.0.branch_main_2.0.weight", [216, 20, 1, 1]), // 240 − 24 channels beside the pooled shortcut
            ("features.1.branch_main_1.0.weight", [60, 80, 1, 1]), ("features.1.branch_main_2.0.weight", [240, 20, 1, 1]),
            ("features.4.branch_main_1.0.weight", [120, 80, 1, 1]), ("features.4.branch_main_2.0.weight", [240, 40, 1, 1]),
            ("features.12.branch_main_2.0.weight", [480, 80, 1, 1]), ("features.15.branch_main_2.1.running_var", [960]),
            ("classifier.0.weight", [1000, 960]),
        ];
        foreach (var (key, shape) in expected)
        {
            Assert.IsTrue(sd.ContainsKey(key), $"missing state_dict key {key}");
            CollectionAssert.AreEqual(shape, sd[key].shape, key);
        }
        Assert.IsFalse(sd.ContainsKey("classifier.0.bias"), "Megvii's classifier has no bias");
        Assert.IsFalse(sd.Keys.Any(k => k.StartsWith("features.16")), "4 + 8 + 4 units");
    }

    [TestMethod]
    [DataRow(ShuffleNetV1Size.X0_5, 8, 16, 176, 6, 768)] // Megvii's 0.5× g = 8 stem is 16
    [DataRow(ShuffleNetV1Size.X0_5, 2, 12, 92, 13, 400)] // 100 → 104 (multiple of 4·g) in stage 2
    [DataRow(ShuffleNetV1Size.X1_0, 1, 24, 120, 36, 576)]
    public void ChannelsFollowTheTable(ShuffleNetV1Size size, int groups, int stem, int firstMain, int perGroup, int last)
    {
        using var model = new ShuffleNetV1(size, groups);
        var sd = model.state_dict();
        Assert.AreEqual(stem, sd["first_conv.0.weight"].shape[0]);
        CollectionAssert.AreEqual(new long[] { firstMain, perGroup, 1, 1 }, sd["features.0.branch_main_2.0.weight"].shape);
        Assert.AreEqual(last, sd["classifier.0.weight"].shape[1]);
    }

    // Logits, in eval mode after ReferenceWeights' fill (gain 1) on ReferenceWeights.Input, of the PyTorch transcription
    // (Megvii's unit, shuffle order and names; mean pooling for any input size).
    [TestMethod]
    public void LogitsMatchReference()
    {
        using (var model = new ShuffleNetV1(ShuffleNetV1Size.X1_0, groups: 3, numClasses: 10))
        {
            ReferenceWeights.Fill(model, gain: 1);
            ReferenceWeights.AssertLogits(model, ReferenceWeights.Input(2, 3, 64),
            [
                [-2.104296f, 4.716053f, -5.987994f, 0.6772491f, 0.4592343f, 1.395983f, 5.835979f, -6.510777f, 0.368425f, -1.795452f],
                [-2.038611f, 4.622121f, -6.041408f, 0.7098683f, 0.3935472f, 1.216577f, 5.76129f, -6.513017f, 0.2936203f, -1.754083f],
            ]);
        }
        using (var model = new ShuffleNetV1(ShuffleNetV1Size.X0_5, groups: 8, numClasses: 10))
        {
            ReferenceWeights.Fill(model, gain: 1);
            ReferenceWeights.AssertLogits(model, ReferenceWeights.Input(2, 3, 64),
            [
                [1.032332f, 1.788624f, 0.9201286f, 3.088686f, 0.3343345f, 2.485963f, 2.055261f, 2.896393f, -1.047975f, -2.081201f],
                [1.194679f, 1.899493f, 0.9959781f, 3.269821f, 0.5115177f, 2.546909f, 2.131844f, 3.019568f, -1.176355f, -2.163363f],
            ]);
        }
        using (var model = new ShuffleNetV1(ShuffleNetV1Size.X0_5, groups: 2, numClasses: 10, inChannels: 1, smallInput: true))
        {
            ReferenceWeights.Fill(model, gain: 1);
            ReferenceWeights.AssertLogits(model, ReferenceWeights.Input(2, 1, 32),
            [
                [1.679883f, -1.023583f, 1.888561f, -0.1132498f, 2.20151f, 0.09025544f, -0.4846436f, -0.6168072f, 1.570715f, 0.02921437f],
                [1.607025f, -1.016181f, 1.869596f, -0.07740305f, 2.224133f, 0.09105369f, -0.4437653f, -0.5912991f, 1.525919f, 0.01719538f],
            ]);
        }
    }

    [TestMethod]
    public void InitializationFollowsMegvii()
    {
        using var scope = NewDisposeScope();
        using var model = new ShuffleNetV1(ShuffleNetV1Size.X1_0, groups: 3);
        var sd = model.state_dict();
        Assert.AreEqual(0.01, sd["first_conv.0.weight"].std().item<float>(), 0.002);
        Assert.AreEqual(1.0 / 80, sd["features.1.branch_main_1.0.weight"].std().item<float>(), 0.05 / 80); // 240 / 3 inputs per group
        Assert.AreEqual(1.0, sd["features.1.branch_main_1.3.weight"].std().item<float>(), 0.1); // depthwise: 1 input per group
        Assert.AreEqual(0.01, sd["classifier.0.weight"].std().item<float>(), 0.0005);
        Assert.IsTrue(sd["features.7.branch_main_2.1.weight"].eq(1).all().item<bool>());
        Assert.IsTrue(sd["features.7.branch_main_2.1.bias"].eq(0.0001f).all().item<bool>());
        model.ResetClassifier(3);
        Assert.AreEqual(0.01, model.state_dict()["classifier.0.weight"].std().item<float>(), 0.002);
    }

    [TestMethod]
    [DataRow(3, 224, false, 7L)]
    [DataRow(1, 32, true, 4L)]
    [DataRow(3, 48, true, 6L)]
    public void OutputShape(int channels, int size, bool smallInput, long featureSide)
    {
        using var scope = NewDisposeScope();
        using var model = new ShuffleNetV1(ShuffleNetV1Size.X1_0, groups: 3, numClasses: 7, inChannels: channels, smallInput: smallInput);
        model.eval();
        CollectionAssert.AreEqual(new long[] { 2, 7 }, model.call(randn(2, channels, size, size)).shape);
        CollectionAssert.AreEqual(new long[] { 1, 960, featureSide, featureSide }, model.ForwardFeatures(randn(1, channels, size, size)).shape);
        Assert.AreEqual(channels, model.InChannels);
    }

    [TestMethod]
    public void SmallInputStemKeepsParametersAndKeys()
    {
        using var large = new ShuffleNetV1(ShuffleNetV1Size.X0_5, 3, 10);
        using var small = new ShuffleNetV1(ShuffleNetV1Size.X0_5, 3, 10, smallInput: true);
        CollectionAssert.AreEquivalent(large.state_dict().Keys.ToList(), small.state_dict().Keys.ToList());
        Assert.AreEqual(ShuffleNetV2Tests.CountParameters(large), ShuffleNetV2Tests.CountParameters(small));
    }

    [TestMethod]
    public void ResetClassifierChangesOnlyTheHead()
    {
        using var scope = NewDisposeScope();
        using var model = new ShuffleNetV1(ShuffleNetV1Size.X0_5, 3, 10, smallInput: true);
        var keys = model.state_dict().Keys.ToList();
        var stem = model.state_dict()["first_conv.0.weight"].clone();
        model.ResetClassifier(4);
        Assert.AreEqual(4, model.NumClasses);
        CollectionAssert.AreEqual(keys, model.state_dict().Keys.ToList());
        CollectionAssert.AreEqual(new long[] { 4, 480 }, model.state_dict()["classifier.0.weight"].shape);
        Assert.IsTrue(stem.eq(model.state_dict()["first_conv.0.weight"]).all().item<bool>());
        model.eval();
        CollectionAssert.AreEqual(new long[] { 3, 4 }, model.call(randn(3, 3, 32, 32)).shape);
    }

    [TestMethod]
    public void TrainModeBackwardReachesEveryParameter()
    {
        using var scope = NewDisposeScope();
        using var model = new ShuffleNetV1(ShuffleNetV1Size.X0_5, groups: 8, numClasses: 3, smallInput: true);
        model.train();
        var loss = nn.functional.cross_entropy(model.call(randn(4, 3, 32, 32)), tensor(new long[] { 0, 1, 2, 1 }));
        loss.backward();
        foreach (var (name, p) in model.named_parameters())
            Assert.IsNotNull(p.grad, $"no gradient for {name}");
    }

    [TestMethod]
    public void BadArgumentsAreRejected()
    {
        Assert.AreEqual("size", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ShuffleNetV1((ShuffleNetV1Size)9)).ParamName);
        foreach (int groups in new[] { 0, 5, 6, 16, -3 })
            Assert.AreEqual("groups", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ShuffleNetV1(groups: groups)).ParamName);
        Assert.AreEqual("numClasses", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ShuffleNetV1(numClasses: 0)).ParamName);
        Assert.AreEqual("inChannels", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ShuffleNetV1(inChannels: 2)).ParamName);
    }
}

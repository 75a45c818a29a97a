using Lightweight.ML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Models;

[TestClass]
public sealed class MobileNetV2Tests
{
    // torchvision 0.14 mobilenet_v2(width_mult=w, num_classes=n): sum(p.numel() for p in m.parameters()).
    [TestMethod]
    [DataRow(1.0f, 1000, 3_504_872L)]
    [DataRow(0.35f, 1000, 1_677_128L)]
    [DataRow(0.5f, 1000, 1_968_680L)]
    [DataRow(0.75f, 1000, 2_636_424L)]
    [DataRow(1.4f, 1000, 6_108_776L)]
    [DataRow(1.0f, 10, 2_236_682L)]
    public void ParameterCountEqualsTorchvision(float width, int classes, long expected)
    {
        using var model = new MobileNetV2(classes, width);
        Assert.AreEqual(expected, ShuffleNetV2Tests.CountParameters(model));
    }

    [TestMethod]
    public void StateDictKeysAndShapesFollowTorchvision()
    {
        using var model = new MobileNetV2();
        var sd = model.state_dict();
        Assert.HasCount(314, sd); // torchvision's 314 entries (158 parameters, 156 batch-norm buffers)
        (string Key, long[] Shape)[] expected =
        [
            ("features.0.0.weight", [32, 3, 3, 3]), ("features.0.1.running_var", [32]),
            ("features.1.conv.0.0.weight", [32, 1, 3, 3]), ("features.1.conv.1.weight", [16, 32, 1, 1]), ("features.1.conv.2.bias", [16]),
            ("features.2.conv.0.0.weight", [96, 16, 1, 1]), ("features.2.conv.1.0.weight", [96, 1, 3, 3]), ("features.2.conv.2.weight", [24, 96, 1, 1]),
            ("features.2.conv.3.num_batches_tracked", []), ("features.14.conv.1.0.weight", [576, 1, 3, 3]),
            ("features.17.conv.2.weight", [320, 960, 1, 1]), ("features.18.0.weight", [1280, 320, 1, 1]), ("features.18.1.running_mean", [1280]),
            ("classifier.1.weight", [1000, 1280]), ("classifier.1.bias", [1000]),
        ];
        foreach (var (key, shape) in expected)
        {
            Assert.IsTrue(sd.ContainsKey(key), $"missing state_dict key {key}");
            CollectionAssert.AreEqual(shape, sd[key].shape, key);
        }
        Assert.IsFalse(sd.ContainsKey("features.1.conv.3.weight"), "the t = 1 block has no expansion conv, so one layer fewer");
        Assert.IsFalse(sd.Keys.Any(k => k.StartsWith("features.19")), "18 feature layers");
    }

    // Logits of torchvision 0.14 mobilenet_v2(num_classes=10) in eval mode after ReferenceWeights' fill (gain 2) on
    // ReferenceWeights.Input; the second case replaces features[0][0] by a 1-channel stride-1 conv (small input).
    [TestMethod]
    public void LogitsMatchTorchvision()
    {
        using (var model = new MobileNetV2(numClasses: 10))
        {
            ReferenceWeights.Fill(model, gain: 2);
            ReferenceWeights.AssertLogits(model, ReferenceWeights.Input(2, 3, 64),
            [
                [8.959884f, 6.000055f, -1.000097f, -3.443686f, -0.04389868f, -3.257571f, 3.105374f, 0.1581534f, 1.211902f, -4.327399f],
                [8.40628f, 3.117049f, -0.7253295f, -1.901011f, 0.7573169f, -4.526113f, 0.9809341f, -1.549841f, 4.270612f, -2.928453f],
            ]);
        }
        using (var model = new MobileNetV2(numClasses: 10, width: 0.5f, inChannels: 1, smallInput: true))
        {
            ReferenceWeights.Fill(model, gain: 2);
            ReferenceWeights.AssertLogits(model, ReferenceWeights.Input(2, 1, 32),
            [
                [6.882092f, 1.104053f, -3.739749f, -4.604122f, 3.930374f, -3.94916f, 5.114698f, -0.7895046f, -4.014116f, -3.214266f],
                [7.350335f, 0.7000805f, -4.475371f, -4.49018f, 2.708099f, -4.058382f, 5.24798f, 0.4646693f, -3.884298f, -4.522844f],
            ]);
        }
    }

    [TestMethod]
    public void InitializationFollowsTorchvision()
    {
        using var scope = NewDisposeScope();
        using var model = new MobileNetV2();
        var sd = model.state_dict();
        // Kaiming normal, fan-out: std = sqrt(2 / (out_channels · k · k)), also for depthwise convolutions.
        Assert.AreEqual(Math.Sqrt(2.0 / 1280), sd["features.18.0.weight"].std().item<float>(), 0.05 * Math.Sqrt(2.0 / 1280));
        Assert.AreEqual(Math.Sqrt(2.0 / (960 * 9)), sd["features.17.conv.1.0.weight"].std().item<float>(), 0.05 * Math.Sqrt(2.0 / (960 * 9)));
        Assert.AreEqual(0.01, sd["classifier.1.weight"].std().item<float>(), 0.0005);
        Assert.AreEqual(0f, sd["classifier.1.bias"].abs().max().item<float>());
        Assert.IsTrue(sd["features.5.conv.3.weight"].eq(1).all().item<bool>());
        Assert.IsTrue(sd["features.5.conv.3.bias"].eq(0).all().item<bool>());
    }

    [TestMethod]
    [DataRow(3, 224, false, 7L)]
    [DataRow(1, 32, true, 2L)]
    [DataRow(3, 32, false, 1L)]
    public void OutputShape(int channels, int size, bool smallInput, long featureSide)
    {
        using var scope = NewDisposeScope();
        using var model = new MobileNetV2(numClasses: 7, inChannels: channels, smallInput: smallInput);
        model.eval();
        CollectionAssert.AreEqual(new long[] { 2, 7 }, model.call(randn(2, channels, size, size)).shape);
        CollectionAssert.AreEqual(new long[] { 1, 1280, featureSide, featureSide }, model.ForwardFeatures(randn(1, channels, size, size)).shape);
        Assert.AreEqual(channels, model.InChannels);
    }

    [TestMethod]
    public void WideNetworkScalesTheLastConvolution()
    {
        using var model = new MobileNetV2(numClasses: 5, width: 1.4f);
        CollectionAssert.AreEqual(new long[] { 1792, 448, 1, 1 }, model.state_dict()["features.18.0.weight"].shape);
        CollectionAssert.AreEqual(new long[] { 5, 1792 }, model.state_dict()["classifier.1.weight"].shape);
    }

    [TestMethod]
    public void ResetClassifierChangesOnlyTheHead()
    {
        using var scope = NewDisposeScope();
        using var model = new MobileNetV2(10, width: 0.5f, smallInput: true);
        var keys = model.state_dict().Keys.ToList();
        var stem = model.state_dict()["features.0.0.weight"].clone();
        model.eval();
        model.ResetClassifier(4);
        Assert.AreEqual(4, model.NumClasses);
        CollectionAssert.AreEqual(keys, model.state_dict().Keys.ToList());
        CollectionAssert.AreEqual(new long[] { 4, 1280 }, model.state_dict()["classifier.1.weight"].shape);
        Assert.AreEqual(0f, model.state_dict()["classifier.1.bias"].abs().max().item<float>());
        Assert.IsTrue(stem.eq(model.state_dict()["features.0.0.weight"]).all().item<bool>());
        var x = randn(3, 3, 32, 32);
        CollectionAssert.AreEqual(new long[] { 3, 4 }, model.call(x).shape);
        Assert.IsTrue(model.call(x).eq(model.call(x)).all().item<bool>(), "the new head's dropout stays in eval mode");
    }

    [TestMethod]
    public void TrainModeBackwardReachesEveryParameter()
    {
        using var scope = NewDisposeScope();
        using var model = new MobileNetV2(numClasses: 3, width: 0.35f, smallInput: true);
        model.train();
        var loss = nn.functional.cross_entropy(model.call(randn(4, 3, 32, 32)), tensor(new long[] { 0, 1, 2, 1 }));
        loss.backward();
        foreach (var (name, p) in model.named_parameters())
            Assert.IsNotNull(p.grad, $"no gradient for {name}");
    }

    [TestMethod]
    public void BadArgumentsAreRejected()
    {
        Assert.AreEqual("width", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MobileNetV2(width: 0)).ParamName);
        Assert.AreEqual("width", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MobileNetV2(width: float.PositiveInfinity)).ParamName);
        Assert.AreEqual("dropout", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MobileNetV2(dropout: 1)).ParamName);
        Assert.AreEqual("numClasses", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MobileNetV2(numClasses: 0)).ParamName);
        Assert.AreEqual("inChannels", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MobileNetV2(inChannels: 4)).ParamName);
        using var model = new MobileNetV2(10, width: 0.35f);
        Assert.AreEqual("numClasses", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.ResetClassifier(0)).ParamName);
    }
}

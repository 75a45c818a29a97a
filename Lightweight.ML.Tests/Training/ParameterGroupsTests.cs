using Lightweight.ML.Models;
using Lightweight.ML.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Training;

[TestClass]
public sealed class ParameterGroupsTests
{
    private static bool Same(Tensor a, Tensor b)
    {
        using var equal = a.eq(b).all();
        return equal.item<bool>();
    }

    private static HashSet<IntPtr> Handles(IEnumerable<Parameter> parameters) => parameters.Select(p => p.Handle).ToHashSet();

    [TestMethod]
    public void ShuffleNetV2SplitPutsConvAndLinearWeightsInDecayAndNormsAndBiasesInNoDecay()
    {
        using var model = new ShuffleNetV2(ShuffleNetV2Size.X0_5, 10);
        var (decay, noDecay) = ParameterGroups.Split(model);
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.Handle);
        var modules = model.named_modules().ToList();
        var convs = modules.Where(m => m.module is Conv2d).Select(m => m.name).ToList();
        var linears = modules.Where(m => m.module is Linear).Select(m => m.name).ToList();
        var norms = modules.Where(m => m.module is BatchNorm2d).Select(m => m.name).ToList();

        // torchvision's ShuffleNetV2: 56 bias-free convolutions each followed by batch norm, and the fc layer.
        Assert.AreEqual(56, convs.Count);
        Assert.AreEqual(56, norms.Count);
        CollectionAssert.AreEqual(new[] { "fc" }, linears);
        Assert.AreEqual(convs.Count + linears.Count, decay.Count, "one weight per conv/linear layer decays");
        Assert.AreEqual(2 * norms.Count + 1, noDecay.Count, "BN weight and bias of every norm, plus the fc bias");
        Assert.AreEqual(named.Count, decay.Count + noDecay.Count);

        var decaySet = Handles(decay);
        var noDecaySet = Handles(noDecay);
        foreach (var name in convs.Append("fc"))
            Assert.IsTrue(decaySet.Contains(named[name + ".weight"]), $"{name}.weight decays");
        foreach (var name in norms)
        {
            Assert.IsTrue(noDecaySet.Contains(named[name + ".weight"]), $"{name}.weight has no decay");
            Assert.IsTrue(noDecaySet.Contains(named[name + ".bias"]), $"{name}.bias has no decay");
        }
        Assert.IsTrue(noDecaySet.Contains(named["fc.bias"]), "fc.bias has no decay");
        Assert.IsTrue(decay.All(p => p.dim() >= 2));
        Assert.IsTrue(noDecay.All(p => p.dim() == 1));
    }

    [TestMethod]
    public void FrozenParametersAreLeftOut()
    {
        using var linear = nn.Linear(4, 3);
        linear.weight!.requires_grad = false;
        var (decay, noDecay) = ParameterGroups.Split(linear);
        Assert.AreEqual(0, decay.Count);
        Assert.AreEqual(1, noDecay.Count);
        Assert.AreEqual(linear.bias!.Handle, noDecay[0].Handle);
    }

    /// <summary>A forward/backward whose loss is 0 × output: every parameter gets a gradient of exactly zero.</summary>
    private static void ZeroGradients(ShuffleNetV2 model)
    {
        using var scope = NewDisposeScope();
        model.zero_grad();
        (model.call(randn(2, 3, 32, 32)).sum() * 0).backward();
    }

    private static (Tensor Conv, Tensor Norm) ConvAndNormWeights(nn.Module model)
    {
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        return (named["conv1.0.weight"], named["conv1.1.weight"]);
    }

    [TestMethod]
    public void SgdWeightDecayShrinksConvWeightsButNotBatchNormWeights()
    {
        manual_seed(1);
        using var model = new ShuffleNetV2(ShuffleNetV2Size.X0_5, 10, smallInput: true);
        const double lr = 0.1, momentum = 0.9, weightDecay = 0.01;
        using var optimizer = ParameterGroups.CreateSgd(model, lr, momentum, nesterov: true, weightDecay);
        ZeroGradients(model);
        var (conv, norm) = ConvAndNormWeights(model);
        using var convBefore = conv.detach().clone();
        using var normBefore = norm.detach().clone();
        Assert.AreEqual(0.0, conv.grad!.abs().max().item<float>());
        Assert.AreEqual(0.0, norm.grad!.abs().max().item<float>());
        optimizer.step();

        // Nesterov on the first step: d = wd·w, buf = d, update = d + m·buf = (1 + m)·wd·w.
        using var expected = convBefore * (1 - lr * (1 + momentum) * weightDecay);
        Assert.IsTrue(conv.allclose(expected, rtol: 1e-6, atol: 1e-9), "conv weight shrinks by lr·(1+m)·wd");
        Assert.IsFalse(Same(conv, convBefore), "conv weight changed");
        Assert.IsTrue(Same(norm, normBefore), "BN weight unchanged");
    }

    [TestMethod]
    public void AdamWWeightDecayShrinksConvWeightsButNotBatchNormWeights()
    {
        manual_seed(2);
        using var model = new ShuffleNetV2(ShuffleNetV2Size.X0_5, 10, smallInput: true);
        const double lr = 0.01, weightDecay = 0.05;
        using var optimizer = ParameterGroups.CreateAdamW(model, lr, weightDecay);
        ZeroGradients(model);
        var (conv, norm) = ConvAndNormWeights(model);
        using var convBefore = conv.detach().clone();
        using var normBefore = norm.detach().clone();
        optimizer.step();
        using var expected = convBefore * (1 - lr * weightDecay);
        Assert.IsTrue(conv.allclose(expected, rtol: 1e-6, atol: 1e-9), "conv weight decays by lr·wd");
        Assert.IsTrue(Same(norm, normBefore), "BN weight unchanged");
    }

    [TestMethod]
    public void GroupsCarryTheirOptionsAndTheLearningRateIsSetForBoth()
    {
        using var model = new ShuffleNetV2(ShuffleNetV2Size.X0_5, 10, smallInput: true);
        using var optimizer = ParameterGroups.CreateSgd(model, 0.2, 0.9, nesterov: true, 4e-5);
        var groups = optimizer.ParamGroups.Cast<SGD.ParamGroup>().ToList();
        Assert.AreEqual(2, groups.Count);
        CollectionAssert.AreEqual(new double?[] { 4e-5, 0 }, groups.Select(g => g.Options.weight_decay).ToList());
        Assert.IsTrue(groups.All(g => g.Options.momentum == 0.9 && g.Options.nesterov == true && g.Options.dampening == 0));
        Assert.IsTrue(groups.All(g => g.LearningRate == 0.2));

        foreach (var g in optimizer.ParamGroups) g.LearningRate = 0.0;
        Assert.IsTrue(groups.All(g => g.LearningRate == 0.0 && g.Options.LearningRate == 0.0));
        // With a rate of 0 in both groups nothing moves, weight decay included.
        ZeroGradients(model);
        var (conv, _) = ConvAndNormWeights(model);
        using var before = conv.detach().clone();
        optimizer.step();
        Assert.IsTrue(Same(conv, before));

        using var adamW = ParameterGroups.CreateAdamW(model, 1e-3, 0.05);
        var adamGroups = adamW.ParamGroups.Cast<AdamW.ParamGroup>().ToList();
        CollectionAssert.AreEqual(new double?[] { 0.05, 0 }, adamGroups.Select(g => g.Options.weight_decay).ToList());
        Assert.IsTrue(adamGroups.All(g => g.LearningRate == 1e-3 && g.Betas == (0.9, 0.999)));
    }

    [TestMethod]
    [DataRow(ImageClassifierOptimizer.Sgd)]
    [DataRow(ImageClassifierOptimizer.AdamW)]
    public void TwoGroupOptimizerStateRoundTripsThroughSaveStateDict(ImageClassifierOptimizer kind)
    {
        static nn.Module<Tensor, Tensor> Model()
        {
            manual_seed(4);
            return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(64, 5));
        }
        optim.Optimizer Optimizer(nn.Module model) => kind == ImageClassifierOptimizer.Sgd
            ? ParameterGroups.CreateSgd(model, 0.05, 0.9, nesterov: true, 0.01)
            : ParameterGroups.CreateAdamW(model, 0.01, 0.05);
        static void Step(nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, int seed)
        {
            using var scope = NewDisposeScope();
            manual_seed(seed);
            optimizer.zero_grad();
            model.call(randn(6, 3, 6, 6)).pow(2).mean().backward();
            optimizer.step();
        }

        using var original = Model();
        using var resumed = Model();
        using var first = Optimizer(original);
        Step(original, first, 10);
        Step(original, first, 11);
        foreach (var g in first.ParamGroups) g.LearningRate = 0.02;
        using var saved = new MemoryStream();
        ((OptimizerHelper)first).save_state_dict(new BinaryWriter(saved));
        resumed.load_state_dict(original.state_dict());
        using var second = Optimizer(resumed);
        saved.Position = 0;
        ((OptimizerHelper)second).load_state_dict(new BinaryReader(saved));
        Assert.IsTrue(second.ParamGroups.All(g => g.LearningRate == 0.02), "per-group rate restored");

        Step(original, first, 12);
        Step(resumed, second, 12);
        foreach (var ((name, a), (_, b)) in original.named_parameters().Zip(resumed.named_parameters()))
            Assert.IsTrue(Same(a, b), $"{name} after resuming");
    }

    [TestMethod]
    public void SgdWithoutMomentumDropsNesterov()
    {
        using var model = nn.Linear(3, 2);
        using var optimizer = ParameterGroups.CreateSgd(model, 0.1, 0, nesterov: true, 1e-4);
        Assert.IsTrue(optimizer.ParamGroups.Cast<SGD.ParamGroup>().All(g => g.Options.nesterov == false));
    }

    [TestMethod]
    public void ClipGradNormCapsTheGlobalNorm()
    {
        manual_seed(3);
        using var model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4));
        double GlobalNorm() => Math.Sqrt(model.parameters().Sum(p => p.grad!.pow(2).sum().item<float>()));
        void Backward(float scale)
        {
            using var scope = NewDisposeScope();
            model.zero_grad();
            (model.call(randn(32, 8)).pow(2).sum() * scale).backward();
        }

        Backward(100);
        double before = GlobalNorm();
        Assert.IsTrue(before > 10, $"test gradients are large ({before})");
        double returned = GradientClipping.ClipGradNorm(model, 1.0);
        Assert.AreEqual(before, returned, before * 1e-5, "returns the norm before clipping");
        Assert.AreEqual(1.0, GlobalNorm(), 1e-4, "clipped to the maximum");

        Backward(1e-4f);
        double small = GlobalNorm();
        var grads = model.parameters().Select(p => p.grad!.detach().clone()).ToList();
        Assert.AreEqual(small, GradientClipping.ClipGradNorm(model, 1e3), small * 1e-5);
        Assert.IsTrue(model.parameters().Zip(grads).All(t => Same(t.First.grad!, t.Second)), "below the maximum nothing changes");

        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => GradientClipping.ClipGradNorm(model, 0));
        Assert.AreEqual("maxNorm", error.ParamName);
    }
}

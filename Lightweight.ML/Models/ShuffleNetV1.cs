// ShuffleNetV1 per the paper's Table 1 (Zhang et al. 2017, arXiv:1707.01083). torchvision has none; module names,
// unit layout, stem widths and shuffle order follow Megvii's reference PyTorch code, megvii-model/ShuffleNet-Series
// ShuffleNetV1/network.py and blocks.py (@ d8e4db13a7f5b05707461d64c87347fc70c88645), so its g = 3 and g = 8
// state_dicts map key-for-key onto this module tree and compute the same function.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Lightweight.ML.Models;

/// <summary>
/// ShuffleNet V1 (Zhang et al., "ShuffleNet: An Extremely Efficient Convolutional Neural Network for Mobile Devices",
/// CVPR 2018): first_conv (3×3, stride 2) → 3×3 max-pool → features (stages 2–4 of ShuffleNet units: grouped 1×1 conv,
/// channel shuffle, 3×3 depthwise conv, grouped 1×1 conv) → global average pool → classifier.
/// </summary>
/// <remarks>
/// <para>
/// state_dict keys follow Megvii's ShuffleNet-Series: <c>first_conv.0.weight</c>, <c>first_conv.1.*</c>,
/// <c>features.{i}.branch_main_1.{0,1,3,4}.*</c> (1×1 group conv, BN, depthwise conv, BN),
/// <c>features.{i}.branch_main_2.{0,1}.*</c> (1×1 group conv, BN) and <c>classifier.0.weight</c> (a linear layer without
/// bias, as Megvii's). <c>maxpool</c>, the stride-2 shortcut (<c>branch_proj</c>) and the global pool have no parameters.
/// </para>
/// <para>
/// As in Megvii's code the shuffle comes after the depthwise conv rather than before it (equivalent up to a
/// permutation of the depthwise weights, since the depthwise conv and its batch norm act per channel), and it uses Megvii's channel order: the
/// <c>(channels / g, g)</c> reshape, which is <see cref="ShuffleNetV2.ChannelShuffle"/> with <c>channels / g</c> groups.
/// Weights start from Megvii's initialisation: first_conv N(0, 0.01), other convolutions N(0, 1 / input channels per
/// group), batch norm weight 1 and bias 0.0001, classifier N(0, 0.01).
/// </para>
/// </remarks>
public sealed class ShuffleNetV1 : ImageClassifierModel
{
    /// <summary>Units per stage (stages 2, 3, 4); the first unit of each stage halves the resolution.</summary>
    private static readonly int[] StageRepeats = [4, 8, 4];

    /// <summary>
    /// Stage 2 output channels at 1.0× for each group count (the paper's Table 1); stages 3 and 4 double it twice.
    /// Every entry is a multiple of 4·g, so the bottleneck (a quarter of the output) splits evenly into g groups.
    /// </summary>
    private static readonly IReadOnlyDictionary<int, int> Stage2Channels = new Dictionary<int, int>
    {
        // g, stage 2 channels (stage 3 = 2×, stage 4 = 4×)
        [1] = 144,
        [2] = 200,
        [3] = 240,
        [4] = 272,
        [8] = 384,
    };

    /// <summary>
    /// Width multiplier and first_conv channels per size. The stem widths are Megvii's (12, 24, 24, 48), rounded up
    /// to a multiple of g (16 at 0.5×, g = 8, as Megvii); the 1.0× stem is the paper's 24.
    /// </summary>
    private static readonly IReadOnlyDictionary<ShuffleNetV1Size, (double Multiplier, int Stem)> Sizes = new Dictionary<ShuffleNetV1Size, (double, int)>
    {
        // multiplier, stem channels
        [ShuffleNetV1Size.X0_5] = (0.5, 12),
        [ShuffleNetV1Size.X1_0] = (1.0, 24),
        [ShuffleNetV1Size.X1_5] = (1.5, 24),
        [ShuffleNetV1Size.X2_0] = (2.0, 48),
    };

    /// <summary>The group counts of the paper's Table 1: 1, 2, 3, 4 and 8.</summary>
    public static IReadOnlyList<int> SupportedGroups { get; } = [1, 2, 3, 4, 8];

    private readonly Sequential first_conv;
    private readonly MaxPool2d maxpool;
    private readonly Sequential features;
    private Sequential classifier;

    private readonly int _inChannels;
    private readonly int _lastChannels;

    /// <summary>Builds a ShuffleNetV1.</summary>
    /// <param name="size">Width multiplier (0.5×, 1.0×, 1.5×, 2.0×). Stage channels are the Table 1 values times the
    /// multiplier, rounded to the nearest multiple of 4·<paramref name="groups"/>.</param>
    /// <param name="groups">Groups of the 1×1 convolutions: 1, 2, 3, 4 or 8 (the paper's best is 3 or 8).</param>
    /// <param name="numClasses">Number of classes; at least 1.</param>
    /// <param name="inChannels">Input channels: 1 (grayscale) or 3 (RGB).</param>
    /// <param name="smallInput">
    /// Stem for small images (≤ 64 px, as the CIFAR variants): first_conv with stride 1 and no max-pool, so the
    /// network downsamples 8× instead of 32×. Parameters and state_dict keys are unchanged.
    /// </param>
    public ShuffleNetV1(ShuffleNetV1Size size = ShuffleNetV1Size.X1_0, int groups = 3, int numClasses = 1000, int inChannels = 3, bool smallInput = false)
        : base(nameof(ShuffleNetV1))
    {
        if (!Sizes.TryGetValue(size, out var sizeRow))
            throw new ArgumentOutOfRangeException(nameof(size), size, $"Unknown ShuffleNetV1 size {size}; expected one of {string.Join(", ", Sizes.Keys)}.");
        if (!Stage2Channels.TryGetValue(groups, out int stage2))
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"ShuffleNetV1 groups must be one of {string.Join(", ", SupportedGroups)}, got {groups}.");
        CheckNumClasses(numClasses);
        CheckInChannels(inChannels);
        _inChannels = inChannels;
        Size = size;
        Groups = groups;
        SmallInput = smallInput;

        int input = (sizeRow.Stem + groups - 1) / groups * groups;
        first_conv = nn.Sequential(
            nn.Conv2d(inChannels, input, 3, stride: smallInput ? 1 : 2, padding: 1, bias: false),
            nn.BatchNorm2d(input),
            nn.ReLU(inplace: true));
        maxpool = nn.MaxPool2d(kernel_size: 3, stride: 2, padding: 1);

        var units = new List<nn.Module<Tensor, Tensor>>();
        for (int s = 0; s < StageRepeats.Length; s++)
        {
            int output = ChannelRounding.MakeDivisible(stage2 * (1 << s) * sizeRow.Multiplier, 4 * groups);
            for (int i = 0; i < StageRepeats[s]; i++)
            {
                // Stage 2's first pointwise conv is not grouped: its input (the stem) has too few channels.
                units.Add(new ShuffleV1Block(input, output, groups, firstGroup: s == 0 && i == 0, stride: i == 0 ? 2 : 1));
                input = output;
            }
        }
        features = nn.Sequential(units);
        _lastChannels = input;
        classifier = NewClassifier(_lastChannels, numClasses);
        RegisterComponents();
        InitializeWeights();
    }

    /// <inheritdoc/>
    public override int NumClasses => (int)((Linear)classifier[0]).out_features;

    /// <inheritdoc/>
    public override int InChannels => _inChannels;

    /// <summary>The width multiplier the network was built with.</summary>
    public ShuffleNetV1Size Size { get; }

    /// <summary>Groups of the pointwise convolutions.</summary>
    public int Groups { get; }

    /// <summary>Whether first_conv has stride 1 and the max-pool is skipped (small-image stem).</summary>
    public bool SmallInput { get; }

    /// <inheritdoc/>
    public override Tensor ForwardFeatures(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = first_conv.call(x);
        if (!SmallInput) x = maxpool.call(x);
        return features.call(x).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public override Tensor ForwardHead(Tensor features)
    {
        using var pooled = features.mean([2, 3]); // Megvii's globalpool (AvgPool2d(7) at 224 px), for any input size
        return classifier.call(pooled);
    }

    /// <inheritdoc/>
    public override void ResetClassifier(int numClasses)
    {
        CheckNumClasses(numClasses);
        var old = classifier;
        var oldLinear = (Linear)old[0];
        classifier = NewClassifier(_lastChannels, numClasses, oldLinear.weight!.device, oldLinear.weight.dtype);
        register_module(nameof(classifier), null!); // unregister the old head before registering the new one
        register_module(nameof(classifier), classifier);
        old.Dispose();
    }

    /// <summary>Megvii's head: <c>Sequential(Linear(channels, classes, bias=False))</c>, weights N(0, 0.01).</summary>
    private static Sequential NewClassifier(int inFeatures, int numClasses, Device? device = null, ScalarType? dtype = null)
    {
        var linear = nn.Linear(inFeatures, numClasses, hasBias: false, device: device, dtype: dtype);
        using (var scope = NewDisposeScope())
        using (no_grad())
            nn.init.normal_(linear.weight, 0, 0.01);
        return nn.Sequential(linear);
    }

    /// <summary>
    /// Megvii's <c>_initialize_weights</c>: first_conv N(0, 0.01), every other convolution N(0, 1 / input channels per
    /// group), batch norm weight 1 and bias 0.0001, the classifier N(0, 0.01) (set in <see cref="NewClassifier"/>).
    /// </summary>
    private void InitializeWeights()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, module) in named_modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    nn.init.normal_(conv.weight, 0, name.Contains("first", StringComparison.Ordinal) ? 0.01 : 1.0 / conv.weight.shape[1]);
                    break;
                case BatchNorm2d bn:
                    nn.init.ones_(bn.weight);
                    nn.init.constant_(bn.bias, 0.0001);
                    break;
            }
        }
    }

    /// <summary>
    /// The ShuffleNet unit. branch_main_1: 1×1 conv (g groups) → BN → ReLU → 3×3 depthwise conv (stride) → BN;
    /// channel shuffle; branch_main_2: 1×1 conv (g groups) → BN. Stride 1 adds the input and applies ReLU; stride 2
    /// concatenates a 3×3 average-pooled input (branch_proj) with the ReLU of the main branch, which then produces
    /// only <c>output − input</c> channels. The bottleneck has a quarter of the unit's output channels.
    /// </summary>
    private sealed class ShuffleV1Block : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential branch_main_1;
        private readonly Sequential branch_main_2;
        private readonly AvgPool2d? branch_proj;
        private readonly int _groups;
        private readonly int _stride;

        public ShuffleV1Block(int input, int output, int groups, bool firstGroup, int stride) : base(nameof(ShuffleV1Block))
        {
            if (stride is not (1 or 2))
                throw new ArgumentOutOfRangeException(nameof(stride), stride, "ShuffleNetV1 units have stride 1 or 2.");
            int mid = output / 4;
            int mainOutput = stride == 2 ? output - input : output;
            if (stride == 1 && input != output)
                throw new ArgumentException($"A stride-1 unit needs input == output channels; got {input} -> {output}.");
            _groups = groups;
            _stride = stride;

            branch_main_1 = nn.Sequential(
                nn.Conv2d(input, mid, 1, groups: firstGroup ? 1 : groups, bias: false),
                nn.BatchNorm2d(mid),
                nn.ReLU(inplace: true),
                nn.Conv2d(mid, mid, 3, stride: stride, padding: 1, groups: mid, bias: false),
                nn.BatchNorm2d(mid));
            branch_main_2 = nn.Sequential(
                nn.Conv2d(mid, mainOutput, 1, groups: groups, bias: false),
                nn.BatchNorm2d(mainOutput));
            if (stride == 2) branch_proj = nn.AvgPool2d(kernel_size: 3, stride: 2, padding: 1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var y = branch_main_1.call(x);
            if (_groups > 1) y = ShuffleNetV2.ChannelShuffle(y, (int)y.shape[1] / _groups); // Megvii's (c/g, g) order
            y = branch_main_2.call(y);
            var result = _stride == 1
                ? F.relu(y.add(x))
                : cat([branch_proj!.call(x), F.relu(y)], dim: 1);
            return result.MoveToOuterDisposeScope();
        }
    }
}

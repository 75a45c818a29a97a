// Follows torchvision/models/shufflenetv2.py (pytorch/vision, v0.14-v0.20): same topology, same module
// names, so a torchvision state_dict maps key-for-key onto this module tree.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;


namespace Lightweight.ML.Models;

/// <summary>
/// ShuffleNet V2 (Ma et al., "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design", 2018),
/// as torchvision builds it: conv1 → maxpool → stage2..4 of <see cref="InvertedResidual"/> units → conv5 → mean → fc.
/// </summary>
public sealed class ShuffleNetV2 : ImageClassifierModel
{
    /// <summary>Units per stage (stage2, stage3, stage4); the first unit of each stage halves the resolution.</summary>
    private static readonly int[] StageRepeats = [4, 8, 4];

    /// <summary>Output channels of conv1, stage2, stage3, stage4 and conv5 for each size.</summary>
    private static readonly IReadOnlyDictionary<ShuffleNetV2Size, int[]> StageOutChannels = new Dictionary<ShuffleNetV2Size, int[]>
    {
        // conv1, stage2, stage3, stage4, conv5
        [ShuffleNetV2Size.X0_5] = [24, 48, 96, 192, 1024],
        [ShuffleNetV2Size.X1_0] = [24, 116, 232, 464, 1024],
        [ShuffleNetV2Size.X1_5] = [24, 176, 352, 704, 1024],
        [ShuffleNetV2Size.X2_0] = [24, 244, 488, 976, 2048],
    };

    private readonly Sequential conv1;
    private readonly MaxPool2d maxpool;
    private readonly Sequential stage2;
    private readonly Sequential stage3;
    private readonly Sequential stage4;
    private readonly Sequential conv5;
    private Linear fc;

    private readonly bool _smallInput;
    private readonly int _inChannels;

    /// <summary>Builds a ShuffleNetV2 of the given size.</summary>
    /// <param name="size">Width multiplier (0.5×, 1.0×, 1.5×, 2.0×).</param>
    /// <param name="numClasses">Number of classes; at least 1.</param>
    /// <param name="inChannels">Input channels: 1 (grayscale) or 3 (RGB).</param>
    /// <param name="smallInput">
    /// Stem for small images (≤ 64 px, as the CIFAR variants): conv1 with stride 1 and no max-pool, so the
    /// network downsamples 8× instead of 32×. Parameters and state_dict keys are unchanged.
    /// </param>
    public ShuffleNetV2(ShuffleNetV2Size size = ShuffleNetV2Size.X1_0, int numClasses = 1000, int inChannels = 3, bool smallInput = false)
        : base(nameof(ShuffleNetV2))
    {
        if (!StageOutChannels.TryGetValue(size, out var channels))
            throw new ArgumentOutOfRangeException(nameof(size), size, $"Unknown ShuffleNetV2 size {size}; expected one of {string.Join(", ", StageOutChannels.Keys)}.");
        CheckNumClasses(numClasses);
        CheckInChannels(inChannels);
        _smallInput = smallInput;
        _inChannels = inChannels;
        Size = size;

        conv1 = ConvBnRelu(inChannels, channels[0], kernelSize: 3, stride: smallInput ? 1 : 2);
        maxpool = nn.MaxPool2d(kernel_size: 3, stride: 2, padding: 1);
        var stages = new Sequential[StageRepeats.Length];
        int input = channels[0];
        for (int s = 0; s < StageRepeats.Length; s++)
        {
            int output = channels[s + 1];
            var units = new List<nn.Module<Tensor, Tensor>> { new InvertedResidual(input, output, stride: 2) };
            for (int i = 1; i < StageRepeats[s]; i++)
                units.Add(new InvertedResidual(output, output, stride: 1));
            stages[s] = nn.Sequential(units);
            input = output;
        }
        (stage2, stage3, stage4) = (stages[0], stages[1], stages[2]);
        conv5 = ConvBnRelu(input, channels[^1], kernelSize: 1, stride: 1);
        fc = nn.Linear(channels[^1], numClasses);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override int NumClasses => (int)fc.out_features;

    /// <inheritdoc/>
    public override int InChannels => _inChannels;

    /// <summary>The width multiplier the network was built with.</summary>
    public ShuffleNetV2Size Size { get; }

    /// <summary>Whether conv1 has stride 1 and the max-pool is skipped (small-image stem).</summary>
    public bool SmallInput => _smallInput;

    /// <inheritdoc/>
    public override Tensor ForwardFeatures(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = conv1.call(x);
        if (!_smallInput) x = maxpool.call(x);
        x = stage2.call(x);
        x = stage3.call(x);
        x = stage4.call(x);
        return conv5.call(x).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public override Tensor ForwardHead(Tensor features)
    {
        using var pooled = features.mean([2, 3]);
        return fc.call(pooled);
    }

    /// <inheritdoc/>
    public override void ResetClassifier(int numClasses)
    {
        CheckNumClasses(numClasses);
        var old = fc;
        fc = nn.Linear(old.in_features, numClasses, device: old.weight!.device, dtype: old.weight.dtype);
        register_module(nameof(fc), null!); // unregister the old head before registering the new one
        register_module(nameof(fc), fc);
        old.Dispose();
    }

    /// <summary>
    /// Channel shuffle with <paramref name="groups"/> groups: <c>[N, g·k, H, W]</c> viewed as <c>[N, g, k, H, W]</c>,
    /// transposed to <c>[N, k, g, H, W]</c> and flattened back, so output channel <c>i·g + j</c> is input channel <c>j·k + i</c>.
    /// </summary>
    public static Tensor ChannelShuffle(Tensor x, int groups)
    {
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        if (c % groups != 0)
            throw new ArgumentException($"Channel count {c} is not divisible by groups={groups}.", nameof(groups));
        using var grouped = x.view(n, groups, c / groups, h, w);
        using var transposed = grouped.transpose(1, 2);
        return transposed.contiguous().view(n, c, h, w);
    }

    private static Sequential ConvBnRelu(int input, int output, int kernelSize, int stride) => nn.Sequential(
        nn.Conv2d(input, output, kernelSize, stride: stride, padding: kernelSize / 2, bias: false),
        nn.BatchNorm2d(output),
        nn.ReLU(inplace: true));

    /// <summary>
    /// The ShuffleNetV2 unit. Stride 1: split the channels, transform one half (<c>branch2</c>), concatenate, shuffle.
    /// Stride 2: both branches see the whole input and each produce half the output channels.
    /// </summary>
    public sealed class InvertedResidual : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential branch1;
        private readonly Sequential branch2;
        private readonly int _stride;

        /// <summary>Builds a unit from <paramref name="input"/> to <paramref name="output"/> channels.</summary>
        /// <param name="input">Input channels.</param>
        /// <param name="output">Output channels (even).</param>
        /// <param name="stride">1 or 2 (torchvision allows up to 3).</param>
        public InvertedResidual(int input, int output, int stride) : base(nameof(InvertedResidual))
        {
            if (stride is < 1 or > 3)
                throw new ArgumentOutOfRangeException(nameof(stride), stride, "Illegal stride value; expected 1 to 3.");
            int branchFeatures = output / 2;
            if (stride == 1 && input != branchFeatures * 2)
                throw new ArgumentException($"A stride-1 unit needs input == output channels (even); got {input} -> {output}.");
            _stride = stride;

            branch1 = stride > 1
                ? nn.Sequential(
                    nn.Conv2d(input, input, 3, stride: stride, padding: 1, groups: input, bias: false),
                    nn.BatchNorm2d(input),
                    nn.Conv2d(input, branchFeatures, 1, bias: false),
                    nn.BatchNorm2d(branchFeatures),
                    nn.ReLU(inplace: true))
                : nn.Sequential();
            branch2 = nn.Sequential(
                nn.Conv2d(stride > 1 ? input : branchFeatures, branchFeatures, 1, bias: false),
                nn.BatchNorm2d(branchFeatures),
                nn.ReLU(inplace: true),
                nn.Conv2d(branchFeatures, branchFeatures, 3, stride: stride, padding: 1, groups: branchFeatures, bias: false),
                nn.BatchNorm2d(branchFeatures),
                nn.Conv2d(branchFeatures, branchFeatures, 1, bias: false),
                nn.BatchNorm2d(branchFeatures),
                nn.ReLU(inplace: true));
            RegisterComponents();
        }

        /// <inheritdoc/>
        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            Tensor joined;
            if (_stride == 1)
            {
                var halves = x.chunk(2, dim: 1);
                joined = cat([halves[0], branch2.call(halves[1])], dim: 1);
            }
            else
            {
                joined = cat([branch1.call(x), branch2.call(x)], dim: 1);
            }
            return ChannelShuffle(joined, 2).MoveToOuterDisposeScope();
        }
    }
}

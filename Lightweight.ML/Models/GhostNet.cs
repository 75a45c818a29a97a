// Follows timm/models/ghostnet.py (huggingface/pytorch-image-models @ 7479d451a6dfd8af27f941b8e82a7402461fae80),
// GhostNet v1 (ghostnet_050 / ghostnet_100 / ghostnet_130): same topology, same module names, so a timm
// state_dict maps key-for-key onto this module tree.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Lightweight.ML.Models;

/// <summary>
/// GhostNet (Han et al., "GhostNet: More Features from Cheap Operations", CVPR 2020) as timm builds it:
/// conv_stem → bn1 → ReLU → blocks (Ghost bottlenecks, then a 1×1 ConvBnAct) → global average pool →
/// conv_head (1280) → ReLU → dropout → classifier.
/// </summary>
public sealed class GhostNet : ImageClassifierModel
{
    /// <summary>Channels of conv_head, fixed at 1280 whatever the width.</summary>
    private const int HeadChannels = 1280;

    /// <summary>
    /// The bottleneck table, one inner array per <c>blocks.{i}</c> stage as in timm's <c>cfgs</c>.
    /// Columns: depthwise kernel, expansion (mid) channels, output channels, SE ratio (0 = no SE), stride.
    /// </summary>
    private static readonly (int K, int T, int C, double SE, int S)[][] Cfgs =
    [
        // k, t, c, SE, s
        // stage 1
        [(3, 16, 16, 0, 1)],
        // stage 2
        [(3, 48, 24, 0, 2)],
        [(3, 72, 24, 0, 1)],
        // stage 3
        [(5, 72, 40, 0.25, 2)],
        [(5, 120, 40, 0.25, 1)],
        // stage 4
        [(3, 240, 80, 0, 2)],
        [(3, 200, 80, 0, 1),
         (3, 184, 80, 0, 1),
         (3, 184, 80, 0, 1),
         (3, 480, 112, 0.25, 1),
         (3, 672, 112, 0.25, 1)],
        // stage 5
        [(5, 672, 160, 0.25, 2)],
        [(5, 960, 160, 0, 1),
         (5, 960, 160, 0.25, 1),
         (5, 960, 160, 0, 1),
         (5, 960, 160, 0.25, 1)],
    ];

    private readonly Conv2d conv_stem;
    private readonly BatchNorm2d bn1;
    private readonly Sequential blocks;
    private readonly Conv2d conv_head;
    private Linear classifier;

    private readonly int _inChannels;
    private readonly double _dropRate;

    /// <summary>Builds a GhostNet v1.</summary>
    /// <param name="numClasses">Number of classes; at least 1.</param>
    /// <param name="width">Channel multiplier (timm: 0.5, 1.0, 1.3); positive and finite.</param>
    /// <param name="inChannels">Input channels: 1 (grayscale) or 3 (RGB).</param>
    /// <param name="smallInput">
    /// Stem for small images (≤ 64 px, as the CIFAR variants): conv_stem with stride 1, so the network
    /// downsamples 16× instead of 32×. Parameters and state_dict keys are unchanged.
    /// </param>
    /// <param name="dropout">Dropout probability before the classifier, in [0, 1).</param>
    public GhostNet(int numClasses = 1000, float width = 1.0f, int inChannels = 3, bool smallInput = false, float dropout = 0.2f)
        : base(nameof(GhostNet))
    {
        CheckNumClasses(numClasses);
        CheckInChannels(inChannels);
        CheckWidth(width);
        CheckDropout(dropout);
        _inChannels = inChannels;
        _dropRate = dropout;
        Width = width;
        SmallInput = smallInput;

        // timm multiplies in double precision; take the float as the decimal the caller wrote (1.3f → 1.3).
        double w = ChannelRounding.DecimalWidth(width);
        int stemChannels = MakeDivisible(16 * w);
        conv_stem = nn.Conv2d(inChannels, stemChannels, 3, stride: smallInput ? 1 : 2, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(stemChannels);

        var stages = new List<nn.Module<Tensor, Tensor>>();
        int previous = stemChannels;
        foreach (var stage in Cfgs)
        {
            var layers = new List<nn.Module<Tensor, Tensor>>();
            foreach (var (k, t, c, se, s) in stage)
            {
                int output = MakeDivisible(c * w);
                layers.Add(new GhostBottleneck(previous, MakeDivisible(t * w), output, k, s, se));
                previous = output;
            }
            stages.Add(nn.Sequential(layers));
        }
        int poolChannels = MakeDivisible(Cfgs[^1][^1].T * w);
        stages.Add(nn.Sequential(new ConvBnAct(previous, poolChannels)));
        blocks = nn.Sequential(stages);

        conv_head = nn.Conv2d(poolChannels, HeadChannels, 1, bias: true);
        classifier = nn.Linear(HeadChannels, numClasses);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override int NumClasses => (int)classifier.out_features;

    /// <inheritdoc/>
    public override int InChannels => _inChannels;

    /// <summary>The channel multiplier the network was built with.</summary>
    public float Width { get; }

    /// <summary>Whether conv_stem has stride 1 (small-image stem).</summary>
    public bool SmallInput { get; }

    /// <summary>Dropout probability before the classifier (training only).</summary>
    public float DropoutRate => (float)_dropRate;

    /// <inheritdoc/>
    public override Tensor ForwardFeatures(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = conv_stem.call(x);
        x = F.relu(bn1.call(x), inplace: true);
        return blocks.call(x).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public override Tensor ForwardHead(Tensor features)
    {
        using var scope = NewDisposeScope();
        var x = features.mean([2, 3], keepdim: true); // global average pool, kept 4-D for the 1×1 conv_head
        x = F.relu(conv_head.call(x), inplace: true);
        x = x.flatten(1);
        if (_dropRate > 0) x = F.dropout(x, _dropRate, training);
        return classifier.call(x).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public override void ResetClassifier(int numClasses)
    {
        CheckNumClasses(numClasses);
        var old = classifier;
        classifier = nn.Linear(HeadChannels, numClasses, device: conv_head.weight.device, dtype: conv_head.weight.dtype);
        register_module(nameof(classifier), null!); // unregister the old one, then register the new one
        register_module(nameof(classifier), classifier);
        old.Dispose();
    }

    /// <summary>timm's <c>make_divisible</c> with GhostNet's divisor 4.</summary>
    private static int MakeDivisible(double v) => ChannelRounding.MakeDivisible(v, 4);

    /// <summary>
    /// Ghost module: a 1×1 conv makes half the channels (primary_conv), a depthwise 3×3 conv derives the
    /// other half from them (cheap_operation); the two are concatenated and trimmed to the output width.
    /// </summary>
    private sealed class GhostModule : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential primary_conv;
        private readonly Sequential cheap_operation;
        private readonly int _outChannels;

        public GhostModule(int input, int output, bool relu) : base(nameof(GhostModule))
        {
            _outChannels = output;
            int initChannels = (output + 1) / 2; // ceil(output / ratio) with ratio 2
            primary_conv = nn.Sequential(
                nn.Conv2d(input, initChannels, 1, bias: false),
                nn.BatchNorm2d(initChannels),
                relu ? nn.ReLU(inplace: true) : nn.Identity());
            cheap_operation = nn.Sequential(
                nn.Conv2d(initChannels, initChannels, 3, padding: 1, groups: initChannels, bias: false),
                nn.BatchNorm2d(initChannels),
                relu ? nn.ReLU(inplace: true) : nn.Identity());
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var primary = primary_conv.call(x);
            var cheap = cheap_operation.call(primary);
            return cat([primary, cheap], dim: 1).narrow(1, 0, _outChannels).MoveToOuterDisposeScope();
        }
    }

    /// <summary>Squeeze-and-excitation with a hard-sigmoid gate; reduced channels rounded with make_divisible(·, 4).</summary>
    private sealed class SqueezeExcite : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv_reduce;
        private readonly Conv2d conv_expand;

        public SqueezeExcite(int channels, double ratio) : base(nameof(SqueezeExcite))
        {
            int reduced = MakeDivisible(channels * ratio);
            conv_reduce = nn.Conv2d(channels, reduced, 1, bias: true);
            conv_expand = nn.Conv2d(reduced, channels, 1, bias: true);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var s = x.mean([2, 3], keepdim: true);
            s = F.relu(conv_reduce.call(s), inplace: true);
            s = F.hardsigmoid(conv_expand.call(s)); // relu6(s + 3) / 6
            return x.mul(s).MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// Ghost bottleneck: ghost1 (expand, ReLU) → depthwise conv if strided → optional SE → ghost2 (project, linear),
    /// plus a shortcut that is the identity when shapes match, else depthwise conv + BN + 1×1 conv + BN.
    /// </summary>
    private sealed class GhostBottleneck : nn.Module<Tensor, Tensor>
    {
        private readonly GhostModule ghost1;
        private readonly Conv2d? conv_dw;
        private readonly BatchNorm2d? bn_dw;
        private readonly SqueezeExcite? se;
        private readonly GhostModule ghost2;
        private readonly Sequential shortcut;

        public GhostBottleneck(int input, int mid, int output, int kernel, int stride, double seRatio)
            : base(nameof(GhostBottleneck))
        {
            int padding = (kernel - 1) / 2;
            ghost1 = new GhostModule(input, mid, relu: true);
            if (stride > 1)
            {
                conv_dw = nn.Conv2d(mid, mid, kernel, stride: stride, padding: padding, groups: mid, bias: false);
                bn_dw = nn.BatchNorm2d(mid);
            }
            if (seRatio > 0) se = new SqueezeExcite(mid, seRatio);
            ghost2 = new GhostModule(mid, output, relu: false);
            shortcut = input == output && stride == 1
                ? nn.Sequential()
                : nn.Sequential(
                    nn.Conv2d(input, input, kernel, stride: stride, padding: padding, groups: input, bias: false),
                    nn.BatchNorm2d(input),
                    nn.Conv2d(input, output, 1, bias: false),
                    nn.BatchNorm2d(output));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var y = ghost1.call(x);
            if (conv_dw is not null && bn_dw is not null) y = bn_dw.call(conv_dw.call(y));
            if (se is not null) y = se.call(y);
            y = ghost2.call(y);
            return y.add(shortcut.call(x)).MoveToOuterDisposeScope();
        }
    }

    /// <summary>timm's ConvBnAct as GhostNet uses it: 1×1 conv (no bias) → BN → ReLU.</summary>
    private sealed class ConvBnAct : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv;
        private readonly BatchNorm2d bn1;

        public ConvBnAct(int input, int output) : base(nameof(ConvBnAct))
        {
            conv = nn.Conv2d(input, output, 1, bias: false);
            bn1 = nn.BatchNorm2d(output);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            return F.relu(bn1.call(conv.call(x)), inplace: true).MoveToOuterDisposeScope();
        }
    }
}

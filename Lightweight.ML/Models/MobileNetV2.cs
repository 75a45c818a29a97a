// Follows torchvision/models/mobilenetv2.py (pytorch/vision v0.14, unchanged through v0.20): same inverted-residual
// table, width rounding, module names and initialisation, so a torchvision state_dict maps key-for-key onto this
// module tree.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lightweight.ML.Models;

/// <summary>
/// MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018) as torchvision
/// builds it: features (3×3 stem, 17 <see cref="InvertedResidual"/> blocks, 1×1 conv to 1280) → global average
/// pool → classifier (dropout, linear). 3,504,872 parameters at 1000 classes and width 1.0.
/// </summary>
public sealed class MobileNetV2 : ImageClassifierModel
{
    /// <summary>Stem output channels at width 1.0.</summary>
    private const int StemChannels = 32;

    /// <summary>Channels of the last 1×1 convolution at width ≤ 1.0 (scaled up for wider networks only).</summary>
    private const int LastChannels = 1280;

    /// <summary>Every channel count is rounded to a multiple of this (torchvision's <c>round_nearest</c>).</summary>
    private const int RoundNearest = 8;

    /// <summary>
    /// The inverted residual table of the paper (Table 2): expansion factor, output channels at width 1.0, repeats,
    /// stride of the first repeat.
    /// </summary>
    private static readonly (int T, int C, int N, int S)[] InvertedResidualSetting =
    [
        // t, c, n, s
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];

    private readonly Sequential features;
    private Sequential classifier;

    private readonly int _inChannels;
    private readonly int _lastChannels;
    private readonly double _dropRate;

    /// <summary>Builds a MobileNetV2.</summary>
    /// <param name="numClasses">Number of classes; at least 1.</param>
    /// <param name="width">
    /// Width multiplier (torchvision's <c>width_mult</c>: 0.35, 0.5, 0.75, 1.0, 1.4…); positive and finite. Channel
    /// counts are rounded to the nearest multiple of 8; the last convolution keeps 1280 channels below 1.0.
    /// </param>
    /// <param name="inChannels">Input channels: 1 (grayscale) or 3 (RGB).</param>
    /// <param name="smallInput">
    /// Stem for small images (≤ 64 px, as the CIFAR variants): the first convolution has stride 1, so the network
    /// downsamples 16× instead of 32×. Parameters and state_dict keys are unchanged.
    /// </param>
    /// <param name="dropout">Dropout probability before the linear layer, in [0, 1). torchvision's default 0.2.</param>
    public MobileNetV2(int numClasses = 1000, float width = 1.0f, int inChannels = 3, bool smallInput = false, float dropout = 0.2f)
        : base(nameof(MobileNetV2))
    {
        CheckNumClasses(numClasses);
        CheckInChannels(inChannels);
        CheckWidth(width);
        CheckDropout(dropout);
        _inChannels = inChannels;
        _dropRate = dropout;
        Width = width;
        SmallInput = smallInput;

        double w = ChannelRounding.DecimalWidth(width);
        int input = ChannelRounding.MakeDivisible(StemChannels * w, RoundNearest);
        _lastChannels = ChannelRounding.MakeDivisible(LastChannels * Math.Max(1.0, w), RoundNearest);

        var layers = new List<nn.Module<Tensor, Tensor>> { ConvBnReLU6(inChannels, input, kernelSize: 3, stride: smallInput ? 1 : 2) };
        foreach (var (t, c, n, s) in InvertedResidualSetting)
        {
            int output = ChannelRounding.MakeDivisible(c * w, RoundNearest);
            for (int i = 0; i < n; i++)
            {
                layers.Add(new InvertedResidual(input, output, stride: i == 0 ? s : 1, expandRatio: t));
                input = output;
            }
        }
        layers.Add(ConvBnReLU6(input, _lastChannels, kernelSize: 1, stride: 1));
        features = nn.Sequential(layers);
        classifier = NewClassifier(_lastChannels, numClasses, _dropRate);
        RegisterComponents();
        InitializeWeights();
    }

    /// <inheritdoc/>
    public override int NumClasses => (int)((Linear)classifier[1]).out_features;

    /// <inheritdoc/>
    public override int InChannels => _inChannels;

    /// <summary>The width multiplier the network was built with.</summary>
    public float Width { get; }

    /// <summary>Whether the first convolution has stride 1 (small-image stem).</summary>
    public bool SmallInput { get; }

    /// <summary>Dropout probability before the linear layer (training only).</summary>
    public float DropoutRate => (float)_dropRate;

    /// <inheritdoc/>
    public override Tensor ForwardFeatures(Tensor x)
    {
        using var scope = NewDisposeScope();
        return features.call(x).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public override Tensor ForwardHead(Tensor features)
    {
        using var pooled = features.mean([2, 3]); // adaptive_avg_pool2d(1) + flatten
        return classifier.call(pooled);
    }

    /// <inheritdoc/>
    public override void ResetClassifier(int numClasses)
    {
        CheckNumClasses(numClasses);
        var old = classifier;
        var oldLinear = (Linear)old[1];
        classifier = NewClassifier(_lastChannels, numClasses, _dropRate, oldLinear.weight!.device, oldLinear.weight.dtype);
        classifier.train(training); // the new Dropout follows the model's train/eval mode
        register_module(nameof(classifier), null!); // unregister the old head before registering the new one
        register_module(nameof(classifier), classifier);
        old.Dispose();
    }

    /// <summary>torchvision's head: <c>Sequential(Dropout(p), Linear(last, classes))</c>, the linear layer initialised N(0, 0.01).</summary>
    private static Sequential NewClassifier(int inFeatures, int numClasses, double dropRate, Device? device = null, ScalarType? dtype = null)
    {
        var linear = nn.Linear(inFeatures, numClasses, device: device, dtype: dtype);
        InitializeLinear(linear);
        return nn.Sequential(nn.Dropout(dropRate), linear);
    }

    /// <summary>
    /// torchvision's initialisation: convolutions Kaiming-normal (fan-out), batch norm weight 1 and bias 0,
    /// linear layers N(0, 0.01) with zero bias.
    /// </summary>
    private void InitializeWeights()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var module in modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
                    if (conv.bias is not null) nn.init.zeros_(conv.bias);
                    break;
                case BatchNorm2d bn:
                    nn.init.ones_(bn.weight);
                    nn.init.zeros_(bn.bias);
                    break;
                case Linear linear:
                    InitializeLinear(linear);
                    break;
            }
        }
    }

    private static void InitializeLinear(Linear linear)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        nn.init.normal_(linear.weight, 0, 0.01);
        if (linear.bias is not null) nn.init.zeros_(linear.bias);
    }

    /// <summary>torchvision's <c>Conv2dNormActivation</c> with ReLU6: conv (no bias, "same" padding) → BN → ReLU6.</summary>
    private static Sequential ConvBnReLU6(int input, int output, int kernelSize, int stride, int groups = 1) => nn.Sequential(
        nn.Conv2d(input, output, kernelSize, stride: stride, padding: (kernelSize - 1) / 2, groups: groups, bias: false),
        nn.BatchNorm2d(output),
        nn.ReLU6(inplace: true));

    /// <summary>
    /// The inverted residual block: 1×1 expansion to <c>t·input</c> channels (skipped when t = 1) → 3×3 depthwise conv
    /// → linear 1×1 projection, plus the input when the stride is 1 and the channel counts match. torchvision keeps
    /// the layers in one <c>conv</c> Sequential: <c>conv.0</c> expansion, <c>conv.1</c> depthwise, <c>conv.2</c>
    /// projection, <c>conv.3</c> its batch norm (shifted down by one when t = 1).
    /// </summary>
    private sealed class InvertedResidual : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential conv;
        private readonly bool _useResConnect;

        public InvertedResidual(int input, int output, int stride, int expandRatio) : base(nameof(InvertedResidual))
        {
            if (stride is not (1 or 2))
                throw new ArgumentOutOfRangeException(nameof(stride), stride, "MobileNetV2 blocks have stride 1 or 2.");
            int hidden = input * expandRatio;
            _useResConnect = stride == 1 && input == output;

            var layers = new List<nn.Module<Tensor, Tensor>>();
            if (expandRatio != 1) layers.Add(ConvBnReLU6(input, hidden, kernelSize: 1, stride: 1));
            layers.Add(ConvBnReLU6(hidden, hidden, kernelSize: 3, stride: stride, groups: hidden));
            layers.Add(nn.Conv2d(hidden, output, 1, bias: false));
            layers.Add(nn.BatchNorm2d(output));
            conv = nn.Sequential(layers);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var y = conv.call(x);
            return (_useResConnect ? x.add(y) : y).MoveToOuterDisposeScope();
        }
    }
}

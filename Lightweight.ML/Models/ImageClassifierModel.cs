using TorchSharp;
using static TorchSharp.torch;

namespace Lightweight.ML.Models;

/// <summary>
/// Common shape of every network in the zoo: a feature extractor followed by a classification head,
/// as timm splits them (<c>forward_features</c> / <c>forward_head</c>).
/// </summary>
public abstract class ImageClassifierModel : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the module with the given TorchSharp module name.</summary>
    protected ImageClassifierModel(string name) : base(name) { }

    /// <summary>Number of output classes (logits per image).</summary>
    public abstract int NumClasses { get; }

    /// <summary>Number of input channels the stem expects (1 or 3).</summary>
    public abstract int InChannels { get; }

    /// <summary>Maps a batch <c>[N, C, H, W]</c> to the last feature map, before pooling.</summary>
    public abstract Tensor ForwardFeatures(Tensor x);

    /// <summary>Maps the last feature map to logits <c>[N, NumClasses]</c> (pooling, dropout, classifier).</summary>
    public abstract Tensor ForwardHead(Tensor features);

    /// <summary>
    /// Replaces the classifier with a freshly initialised one for <paramref name="numClasses"/> classes, on the same
    /// device, for fine-tuning (timm's <c>reset_classifier</c>).
    /// </summary>
    public abstract void ResetClassifier(int numClasses);

    /// <summary>Throws when <paramref name="numClasses"/> is below 1.</summary>
    protected static void CheckNumClasses(int numClasses)
    {
        if (numClasses < 1)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, $"The number of classes must be at least 1, got {numClasses}.");
    }

    /// <summary>Throws unless <paramref name="inChannels"/> is 1 or 3.</summary>
    protected static void CheckInChannels(int inChannels)
    {
        if (inChannels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, $"Input channels must be 1 (grayscale) or 3 (RGB), got {inChannels}.");
    }

    /// <summary>Throws unless <paramref name="width"/> (a channel multiplier) is positive and finite.</summary>
    protected static void CheckWidth(float width)
    {
        if (!float.IsFinite(width) || width <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), width, $"The width multiplier must be positive and finite, got {width}.");
    }

    /// <summary>Throws unless <paramref name="dropout"/> is a probability in [0, 1).</summary>
    protected static void CheckDropout(float dropout)
    {
        if (!(dropout >= 0 && dropout < 1))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, $"The dropout probability must be in [0, 1), got {dropout}.");
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var features = ForwardFeatures(x);
        return ForwardHead(features);
    }
}

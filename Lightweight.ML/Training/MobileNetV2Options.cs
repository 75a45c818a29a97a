using System.Globalization;
using Lightweight.ML.Models;

namespace Lightweight.ML;

/// <summary>Options of the MobileNetV2 trainer (<c>mlContext.MulticlassClassification.Trainers.MobileNetV2(...)</c>).</summary>
public sealed class MobileNetV2Options : ImageClassificationTrainerOptions
{
    /// <summary>
    /// Width multiplier of torchvision's <c>mobilenet_v2</c> (0.35, 0.5, 0.75, 1.0, 1.4…); channels are rounded to
    /// multiples of 8. Default 1.0; in (0, 4].
    /// </summary>
    public float Width { get; set; } = 1.0f;

    /// <summary>Dropout before the classifier. Default 0.2 (torchvision's); in [0, 1).</summary>
    public float DropoutRate { get; set; } = 0.2f;

    /// <inheritdoc/>
    public override string ModelName => string.Create(CultureInfo.InvariantCulture, $"MobileNetV2-{Width:0.0##}x");

    /// <inheritdoc/>
    public override ImageClassifierModel CreateModel(int numClasses)
        => new MobileNetV2(numClasses, Width, InputChannels, UseSmallInputStem, DropoutRate);

    /// <inheritdoc/>
    public override void Validate()
    {
        RequireWidthAndDropout(Width, DropoutRate);
        base.Validate();
    }
}

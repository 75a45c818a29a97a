using Lightweight.ML.Models;

namespace Lightweight.ML;

/// <summary>Options of the GhostNet trainer (<c>mlContext.MulticlassClassification.Trainers.GhostNet(...)</c>).</summary>
public sealed class GhostNetOptions : ImageClassificationTrainerOptions
{
    /// <summary>Width multiplier of timm's <c>ghostnet_100</c> table (0.5, 1.0, 1.3…). Default 1.0; in (0, 4].</summary>
    public float Width { get; set; } = 1.0f;

    /// <summary>Dropout before the classifier. Default 0.2; in [0, 1).</summary>
    public float DropoutRate { get; set; } = 0.2f;

    /// <inheritdoc/>
    public override string ModelName => $"GhostNet-{Width:0.0##}x";

    /// <inheritdoc/>
    public override ImageClassifierModel CreateModel(int numClasses)
        => new GhostNet(numClasses, Width, InputChannels, UseSmallInputStem, DropoutRate);

    /// <inheritdoc/>
    public override void Validate()
    {
        RequireWidthAndDropout(Width, DropoutRate);
        base.Validate();
    }
}

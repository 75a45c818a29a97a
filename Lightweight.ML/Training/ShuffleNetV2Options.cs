using Lightweight.ML.Models;

namespace Lightweight.ML;

/// <summary>Options of the ShuffleNetV2 trainer (<c>mlContext.MulticlassClassification.Trainers.ShuffleNetV2(...)</c>).</summary>
public sealed class ShuffleNetV2Options : ImageClassificationTrainerOptions
{
    /// <summary>Width multiplier. Default <see cref="ShuffleNetV2Size.X1_0"/>.</summary>
    public ShuffleNetV2Size ModelSize { get; set; } = ShuffleNetV2Size.X1_0;

    /// <inheritdoc/>
    public override string ModelName => ModelSize switch
    {
        ShuffleNetV2Size.X0_5 => "ShuffleNetV2-0.5x",
        ShuffleNetV2Size.X1_0 => "ShuffleNetV2-1.0x",
        ShuffleNetV2Size.X1_5 => "ShuffleNetV2-1.5x",
        ShuffleNetV2Size.X2_0 => "ShuffleNetV2-2.0x",
        _ => $"ShuffleNetV2-{ModelSize}",
    };

    /// <inheritdoc/>
    public override ImageClassifierModel CreateModel(int numClasses)
        => new ShuffleNetV2(ModelSize, numClasses, InputChannels, UseSmallInputStem);

    /// <inheritdoc/>
    public override void Validate()
    {
        if (!Enum.IsDefined(ModelSize))
            throw new ArgumentOutOfRangeException(nameof(ModelSize), ModelSize,
                $"Unknown ShuffleNetV2 size; expected one of {string.Join(", ", Enum.GetNames<ShuffleNetV2Size>())}.");
        base.Validate();
    }
}

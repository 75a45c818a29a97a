using Lightweight.ML.Models;

namespace Lightweight.ML;

/// <summary>Options of the ShuffleNetV1 trainer (<c>mlContext.MulticlassClassification.Trainers.ShuffleNetV1(...)</c>).</summary>
public sealed class ShuffleNetV1Options : ImageClassificationTrainerOptions
{
    /// <summary>Width multiplier. Default <see cref="ShuffleNetV1Size.X1_0"/>.</summary>
    public ShuffleNetV1Size ModelSize { get; set; } = ShuffleNetV1Size.X1_0;

    /// <summary>Groups of the pointwise convolutions: 1, 2, 3, 4 or 8. Default 3 (the paper's usual choice).</summary>
    public int Groups { get; set; } = 3;

    /// <inheritdoc/>
    public override string ModelName => ModelSize switch
    {
        ShuffleNetV1Size.X0_5 => $"ShuffleNetV1-g{Groups}-0.5x",
        ShuffleNetV1Size.X1_0 => $"ShuffleNetV1-g{Groups}-1.0x",
        ShuffleNetV1Size.X1_5 => $"ShuffleNetV1-g{Groups}-1.5x",
        ShuffleNetV1Size.X2_0 => $"ShuffleNetV1-g{Groups}-2.0x",
        _ => $"ShuffleNetV1-g{Groups}-{ModelSize}",
    };

    /// <inheritdoc/>
    public override ImageClassifierModel CreateModel(int numClasses)
        => new ShuffleNetV1(ModelSize, Groups, numClasses, InputChannels, UseSmallInputStem);

    /// <inheritdoc/>
    public override void Validate()
    {
        if (!Enum.IsDefined(ModelSize))
            throw new ArgumentOutOfRangeException(nameof(ModelSize), ModelSize,
                $"Unknown ShuffleNetV1 size; expected one of {string.Join(", ", Enum.GetNames<ShuffleNetV1Size>())}.");
        if (!ShuffleNetV1.SupportedGroups.Contains(Groups))
            throw new ArgumentOutOfRangeException(nameof(Groups), Groups,
                $"Groups must be one of {string.Join(", ", ShuffleNetV1.SupportedGroups)}.");
        base.Validate();
    }
}

using Lightweight.ML.MLNet;
using Microsoft.ML;

namespace Lightweight.ML;

/// <summary>
/// The zoo's trainers on <c>mlContext.MulticlassClassification.Trainers</c>: each with a column-name overload and an
/// options overload, as ML.NET's own trainers. See <c>examples/Quickstart</c> for a runnable sample.
/// </summary>
public static class LightweightTrainersCatalog
{
    /// <summary>Trains a ShuffleNetV2 image classifier (torchvision's architecture) with TorchSharp.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">Key-typed label column. Default <c>"Label"</c>.</param>
    /// <param name="imageColumnName">Image column from <c>LoadImages</c>. Default <c>"Image"</c>.</param>
    /// <param name="modelSize">Width multiplier. Default 1.0×.</param>
    /// <param name="imageSize">Network input side in pixels. Default 224.</param>
    /// <param name="epochs">Training epochs. Default 10.</param>
    public static ImageClassificationTrainer ShuffleNetV2(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string imageColumnName = "Image", ShuffleNetV2Size modelSize = ShuffleNetV2Size.X1_0,
        int imageSize = 224, int epochs = 10)
        => catalog.ShuffleNetV2(new ShuffleNetV2Options
        {
            LabelColumnName = labelColumnName, ImageColumnName = imageColumnName, ModelSize = modelSize, ImageSize = imageSize, Epochs = epochs,
        });

    /// <summary>Trains a ShuffleNetV2 image classifier with the given options.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="options">Trainer options; see <see cref="ShuffleNetV2Options"/>.</param>
    public static ImageClassificationTrainer ShuffleNetV2(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        ShuffleNetV2Options options)
        => Create(catalog, options);

    /// <summary>Trains a GhostNet image classifier (timm's <c>ghostnet_100</c> table scaled by <paramref name="width"/>) with TorchSharp.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">Key-typed label column. Default <c>"Label"</c>.</param>
    /// <param name="imageColumnName">Image column from <c>LoadImages</c>. Default <c>"Image"</c>.</param>
    /// <param name="width">Width multiplier. Default 1.0.</param>
    /// <param name="imageSize">Network input side in pixels. Default 224.</param>
    /// <param name="epochs">Training epochs. Default 10.</param>
    public static ImageClassificationTrainer GhostNet(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string imageColumnName = "Image", float width = 1.0f, int imageSize = 224, int epochs = 10)
        => catalog.GhostNet(new GhostNetOptions
        {
            LabelColumnName = labelColumnName, ImageColumnName = imageColumnName, Width = width, ImageSize = imageSize, Epochs = epochs,
        });

    /// <summary>Trains a GhostNet image classifier with the given options.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="options">Trainer options; see <see cref="GhostNetOptions"/>.</param>
    public static ImageClassificationTrainer GhostNet(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        GhostNetOptions options)
        => Create(catalog, options);

    /// <summary>Trains a MobileNetV2 image classifier (torchvision's <c>mobilenet_v2</c>, scaled by <paramref name="width"/>) with TorchSharp.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">Key-typed label column. Default <c>"Label"</c>.</param>
    /// <param name="imageColumnName">Image column from <c>LoadImages</c>. Default <c>"Image"</c>.</param>
    /// <param name="width">Width multiplier. Default 1.0.</param>
    /// <param name="imageSize">Network input side in pixels. Default 224.</param>
    /// <param name="epochs">Training epochs. Default 10.</param>
    public static ImageClassificationTrainer MobileNetV2(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string imageColumnName = "Image", float width = 1.0f, int imageSize = 224, int epochs = 10)
        => catalog.MobileNetV2(new MobileNetV2Options
        {
            LabelColumnName = labelColumnName, ImageColumnName = imageColumnName, Width = width, ImageSize = imageSize, Epochs = epochs,
        });

    /// <summary>Trains a MobileNetV2 image classifier with the given options.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="options">Trainer options; see <see cref="MobileNetV2Options"/>.</param>
    public static ImageClassificationTrainer MobileNetV2(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        MobileNetV2Options options)
        => Create(catalog, options);

    /// <summary>Trains a ShuffleNetV1 image classifier (the paper's Table 1, Megvii's module names) with TorchSharp.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">Key-typed label column. Default <c>"Label"</c>.</param>
    /// <param name="imageColumnName">Image column from <c>LoadImages</c>. Default <c>"Image"</c>.</param>
    /// <param name="modelSize">Width multiplier. Default 1.0×.</param>
    /// <param name="groups">Groups of the pointwise convolutions: 1, 2, 3, 4 or 8. Default 3.</param>
    /// <param name="imageSize">Network input side in pixels. Default 224.</param>
    /// <param name="epochs">Training epochs. Default 10.</param>
    public static ImageClassificationTrainer ShuffleNetV1(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string imageColumnName = "Image", ShuffleNetV1Size modelSize = ShuffleNetV1Size.X1_0,
        int groups = 3, int imageSize = 224, int epochs = 10)
        => catalog.ShuffleNetV1(new ShuffleNetV1Options
        {
            LabelColumnName = labelColumnName, ImageColumnName = imageColumnName, ModelSize = modelSize, Groups = groups,
            ImageSize = imageSize, Epochs = epochs,
        });

    /// <summary>Trains a ShuffleNetV1 image classifier with the given options.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="options">Trainer options; see <see cref="ShuffleNetV1Options"/>.</param>
    public static ImageClassificationTrainer ShuffleNetV1(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        ShuffleNetV1Options options)
        => Create(catalog, options);

    /// <summary>
    /// Trains whichever architecture <paramref name="options"/> describe (<see cref="ShuffleNetV2Options"/>,
    /// <see cref="GhostNetOptions"/>, <see cref="MobileNetV2Options"/> or <see cref="ShuffleNetV1Options"/>), for code that
    /// picks the model at run time, e.g. from <see cref="ModelNames.CreateOptions"/>.
    /// </summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="options">Trainer options of any zoo architecture.</param>
    public static ImageClassificationTrainer ImageClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        ImageClassificationTrainerOptions options)
        => Create(catalog, options);

    private static ImageClassificationTrainer Create(MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        ImageClassificationTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new ImageClassificationTrainer(MLNetInternals.GetEnvironment(catalog), options);
    }
}

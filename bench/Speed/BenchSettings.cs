using Lightweight.ML.Export;
using Lightweight.ML.Native;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lightweight.ML.Bench.Speed;

/// <summary>What every subcommand shares: the model, input size, batch, threads and how often to measure.</summary>
/// <param name="Model">A <see cref="ModelNames"/> name, e.g. <c>shufflenetv2-0.5x</c> or <c>ghostnet-1.0</c>.</param>
/// <param name="ImageSize">Network input side in pixels.</param>
/// <param name="BatchSize">Images per training step and per scoring forward.</param>
/// <param name="Threads">libtorch intra-op threads (ONNX Runtime intra-op threads for <c>onnx</c>).</param>
/// <param name="Stem">"auto" (small-input stem at 64 px or less, the library's default), "small" or "imagenet".</param>
/// <param name="Data">Image folder root with <c>train/</c> and <c>test/</c> class folders, for the subcommands that read images.</param>
/// <param name="Repeats">Timed repetitions; the median is reported.</param>
/// <param name="Warmup">Untimed steps, forwards or predictions before timing.</param>
/// <param name="Classes">Classifier outputs for the subcommands without data.</param>
internal sealed record BenchSettings(string Model, int ImageSize, int BatchSize, int Threads, string Stem, string? Data,
    int Repeats, int Warmup, int Classes = 10)
{
    public string TrainFolder => Path.Combine(RequireData(), "train");
    public string TestFolder => Path.Combine(RequireData(), "test");

    /// <summary>Trainer options for the model at these settings (all else at the library's defaults), seed 1.</summary>
    public ImageClassificationTrainerOptions CreateOptions(int epochs, IProgress<TrainingProgress>? progress = null)
    {
        var options = ModelNames.CreateOptions(Model);
        options.ImageSize = ImageSize;
        options.BatchSize = BatchSize;
        options.Epochs = epochs;
        options.NumberOfThreads = Threads;
        options.Seed = 1;
        options.SmallInputStem = Stem switch
        {
            "auto" => null, "small" => true, "imagenet" => false,
            _ => throw new ArgumentException($"--stem '{Stem}': expected auto, small or imagenet.", nameof(Stem)),
        };
        options.Progress = progress;
        return options;
    }

    /// <summary>Whether the network gets the small-input stem (stride-1 first convolution, no max-pool).</summary>
    public bool SmallStem => CreateOptions(1).UseSmallInputStem;

    /// <summary>The fit pipeline of the README: MapValueToKey → LoadImages → the trainer.</summary>
    public IEstimator<ITransformer> CreatePipeline(MLContext ml, ImageClassificationTrainerOptions options)
        => ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
            .Append(ml.MulticlassClassification.Trainers.ImageClassifier(options));

    /// <summary>
    /// A fitted scoring chain (MapValueToKey → LoadImages → classifier → MapKeyToValue) from one quick epoch on
    /// 2 × batch shuffled training images: scoring speed does not depend on the weights.
    /// </summary>
    public TransformerChain<ITransformer> FitScoringModel(MLContext ml)
    {
        var train = ml.Data.LoadImagesFromFolder(TrainFolder);
        var few = ml.Data.TakeRows(ml.Data.ShuffleRows(train, seed: 1), 2L * BatchSize);
        var chain = CreatePipeline(ml, CreateOptions(epochs: 1))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Fit(few);
        return new TransformerChain<ITransformer>(chain.ToArray());
    }

    /// <summary>The classifier inside a fitted pipeline.</summary>
    public static ImageClassificationTransformer Classifier(ITransformer fitted) => PipelineFile.Flatten(fitted).OfType<ImageClassificationTransformer>().Single();

    /// <summary>Frees the fitted network(s) of a pipeline (the classifier owns native memory).</summary>
    public static void DisposeAll(ITransformer fitted)
    {
        foreach (var t in PipelineFile.Flatten(fitted)) (t as IDisposable)?.Dispose();
    }

    /// <summary>libtorch loaded, malloc tuned (unless the environment says otherwise) and the thread count set.</summary>
    public void PrepareTorch()
    {
        TorchRuntime.PrepareProcess();
        TorchRuntime.EnsureInitialized();
        TorchRuntime.SetThreads(Threads);
    }

    private string RequireData() => Data ?? throw new ArgumentException("This subcommand reads images: give --data DIR (with train/ and test/).", nameof(Data));
}

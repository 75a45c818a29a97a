using System.Globalization;
using System.Reflection;
using Lightweight.ML.Data;
using Lightweight.ML.MLNet;
using Lightweight.ML.Native;
using Lightweight.ML.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms.Image;
using TorchSharp;
using static TorchSharp.torch;

namespace Lightweight.ML;

/// <summary>
/// The estimator behind <c>Trainers.ShuffleNetV2(...)</c>, <c>GhostNet(...)</c>, <c>MobileNetV2(...)</c> and <c>ShuffleNetV1(...)</c>: decodes the training images
/// once, trains the network chosen by its options with TorchSharp and returns an <see cref="ImageClassificationTransformer"/>.
/// Input: a key-typed label column and an <c>MLImage</c> column; output: <c>Score</c> and <c>PredictedLabel</c>.
/// </summary>
public sealed class ImageClassificationTrainer : IEstimator<ImageClassificationTransformer>
{
    private readonly IHostEnvironment _env;

    internal ImageClassificationTrainer(IHostEnvironment env, ImageClassificationTrainerOptions options)
    {
        _env = env;
        Options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        TorchRuntime.PrepareProcess();
    }

    /// <summary>The options this trainer fits with (checked again at <see cref="Fit"/>).</summary>
    public ImageClassificationTrainerOptions Options { get; }

    /// <inheritdoc/>
    public ImageClassificationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = Options;
        o.Validate();
        var preprocessing = o.CreatePreprocessing();
        var (classNames, labelAnnotations) = ReadClasses(input.Schema, o.LabelColumnName);
        ImageRowReader.RequiredColumns(input.Schema, o.ImageColumnName, o.ImagePathColumnName, allowPathOnly: false);

        TorchRuntime.EnsureInitialized();
        var device = TorchRuntime.ParseDevice(o.Device, nameof(o.Device));
        TorchRuntime.SetThreads(o.NumberOfThreads);
        var host = _env.Register(o.ModelName);
        using var channel = host.Start("Training");
        long seed = o.Seed ?? host.Rand.Next();

        manual_seed(seed);
        var model = o.CreateModel(classNames.Length);
        try
        {
            if (o.PretrainedWeights is { } weights) LoadPretrainedWeights(model, weights, channel); // before the slow data read
            var (train, validation) = ReadData(input, classNames, preprocessing, seed, channel);
            using var trainSet = train;
            using var validationSet = validation;
            model.to(device);
            channel.Info(MessageSensitivity.None,
                $"Training {o.ModelName} ({model.parameters().Sum(p => p.numel()):N0} parameters) on {train.Count} images of {classNames.Length} " +
                $"classes at {preprocessing.ImageSize} px for {o.Epochs} epochs, batch {o.BatchSize}, {o.Optimizer} lr {o.EffectiveLearningRate:G4}, " +
                $"device {device}, {get_num_threads()} threads, seed {seed}" +
                (validation is null ? "." : $", validating on {validation.Count} images."));
            new TrainingLoop(model, o, preprocessing, device, channel, classNames).Run(train, validation, seed);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        var outputs = new ScoreColumns(o.ScoreColumnName, o.PredictedLabelColumnName, classNames, labelAnnotations);
        return new ImageClassificationTransformer(model, o.ModelName, preprocessing, outputs, o.ImageColumnName,
            o.ImagePathColumnName, o.BatchSize, device) { ScoringEngine = o.ScoringEngine };
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var o = Options;
        var label = inputSchema.FirstOrDefault(c => c.Name == o.LabelColumnName);
        if (label.Name is null)
            throw new ArgumentException($"Label column '{o.LabelColumnName}' was not found. Set LabelColumnName, or add " +
                                        $"MapValueToKey(\"{o.LabelColumnName}\") on a text label column.", nameof(inputSchema));
        if (!label.IsKey || label.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentException($"Label column '{o.LabelColumnName}' must be a scalar key; found {Describe(label)}. " +
                                        $"Add MapValueToKey(\"{o.LabelColumnName}\") before the trainer.", nameof(inputSchema));
        var image = inputSchema.FirstOrDefault(c => c.Name == o.ImageColumnName);
        if (image.Name is null)
            throw new ArgumentException($"Image column '{o.ImageColumnName}' was not found. Add LoadImages(\"{o.ImageColumnName}\", ...) " +
                                        "before the trainer.", nameof(inputSchema));
        if (image.ItemType is not ImageDataViewType)
            throw new ArgumentException($"Image column '{o.ImageColumnName}' must be an Image; found {Describe(image)}.", nameof(inputSchema));
        var keyValues = label.Annotations?.FirstOrDefault(c => c.Name == ScoreColumns.KeyValues) ?? default;
        return ScoreColumns.Append(inputSchema, o.ScoreColumnName, o.PredictedLabelColumnName, keyValues.Name is not null ? keyValues : null);
    }

    /// <summary>
    /// Loads <see cref="ImageClassificationTrainerOptions.PretrainedWeights"/>: everything but the classifier must fit; the
    /// classifier is loaded when it has the model's shape (same class count), else it keeps its fresh initialisation.
    /// </summary>
    private static void LoadPretrainedWeights(Models.ImageClassifierModel model, string path, IChannel channel)
    {
        WeightsLoadResult result;
        try
        {
            result = ModelWeights.Load(model, path, WeightsLoadMode.ClassifierWhenShapesMatch);
        }
        catch (Exception e) when (e is InvalidDataException or WeightsMismatchException or IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"PretrainedWeights '{path}' cannot be used: {e.Message}", nameof(ImageClassificationTrainerOptions.PretrainedWeights), e);
        }
        channel.Info(MessageSensitivity.None, $"Loaded {result.LoadedKeys.Count} tensors from '{path}'; " + (result.ClassifierLoaded
            ? "the classifier too (same class count)."
            : $"the classifier ({string.Join(", ", result.KeptKeys)}) is newly initialised for {model.NumClasses} classes."));
    }

    /// <summary>Reads the training data and the validation data (given, or held out from the training data).</summary>
    private (LabeledImages Train, LabeledImages? Validation) ReadData(IDataView input, string[] classNames, ImagePreprocessing preprocessing,
        long seed, IChannel channel)
    {
        var o = Options;
        var all = LabeledImageReader.Read(input, o, classNames, preprocessing, "training");
        try
        {
            CheckClassesPresent(all, classNames, channel);
            if (o.ValidationSet is { } given)
                return (all, LabeledImageReader.Read(given, o, classNames, preprocessing, "validation"));
            if (o.ValidationFraction <= 0)
                return (all, null);
            var (train, validation) = all.SplitStratified(o.ValidationFraction, seed);
            all.Dispose();
            return (train, validation);
        }
        catch
        {
            all.Dispose();
            throw;
        }
    }

    private static string Describe(SchemaShape.Column column)
        => $"{column.Kind} {(column.IsKey ? "key of " : "")}{column.ItemType}";

    private static (string[] ClassNames, DataViewSchema.Annotations Annotations) ReadClasses(DataViewSchema schema, string labelColumn)
    {
        var label = schema.GetColumnOrNull(labelColumn)
            ?? throw new ArgumentException($"Label column '{labelColumn}' was not found; columns are: " +
                                           string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}'")) + ".");
        if (label.Type is not KeyDataViewType key || key.RawType != typeof(uint))
            throw new ArgumentException($"Label column '{labelColumn}' has type {label.Type}; expected a key type (UInt32). " +
                                        $"Add MapValueToKey(\"{labelColumn}\") before the trainer.");
        if (key.Count < 2)
            throw new ArgumentException($"Label column '{labelColumn}' has {key.Count} class(es); image classification needs at least 2 " +
                                        "(every class is a subfolder of the image folder).");
        return (KeyNames(label, (int)key.Count), label.Annotations);
    }

    /// <summary>Class names from the label's KeyValues (any item type, as text), or "1".."K" when it has none.</summary>
    private static string[] KeyNames(DataViewSchema.Column label, int count)
    {
        var keyValues = label.Annotations.Schema.GetColumnOrNull(ScoreColumns.KeyValues);
        if (keyValues?.Type is VectorDataViewType { ItemType: { } item } && item.RawType is { } raw)
        {
            var names = (string[])typeof(ImageClassificationTrainer).GetMethod(nameof(KeyValuesAsText), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(raw).Invoke(null, [label.Annotations, keyValues.Value])!;
            if (names.Length == count) return names;
        }
        return Enumerable.Range(1, count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    }

    private static string[] KeyValuesAsText<T>(DataViewSchema.Annotations annotations, DataViewSchema.Column keyValues)
    {
        VBuffer<T> values = default;
        annotations.GetGetter<VBuffer<T>>(keyValues)(ref values);
        return values.DenseValues().Select(v => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "").ToArray();
    }

    private static void CheckClassesPresent(LabeledImages train, string[] classNames, IChannel channel)
    {
        using var counts = bincount(train.Labels, minlength: classNames.Length);
        var perClass = counts.data<long>().ToArray();
        var present = Enumerable.Range(0, perClass.Length).Where(i => perClass[i] > 0).ToArray();
        if (present.Length < 2)
            throw new ArgumentException($"The training data has images of only one class ('{classNames[present.FirstOrDefault()]}'); " +
                                        "image classification needs at least 2 classes.");
        var missing = Enumerable.Range(0, classNames.Length).Where(i => perClass[i] == 0).Select(i => classNames[i]).ToArray();
        if (missing.Length > 0)
            channel.Warning(MessageSensitivity.None, $"Classes with no training image: {string.Join(", ", missing)}.");
    }
}

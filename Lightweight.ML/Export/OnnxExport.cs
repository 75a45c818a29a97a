using System.Globalization;
using System.Text.Json;
using Lightweight.ML.Export;
using Lightweight.ML.Models;

namespace Lightweight.ML;

/// <summary>
/// Exports a trained classifier to an ONNX file (opset <see cref="OpsetVersion"/>) that ONNX Runtime and ML.NET's
/// <c>ApplyOnnxModel</c> can score. The graph contains the preprocessing, the network in inference mode and the softmax:
/// <list type="bullet">
/// <item>input <see cref="InputName"/>: <c>float32 [N, C, S, S]</c>, planar channels (R, G, B, or one grey plane), values
/// 0–255 — what ML.NET's <c>ExtractPixels</c> gives with its default settings, after the image is resized to S × S;</item>
/// <item>scaling to [0, 1] and the per-channel mean/std normalisation of <see cref="ImagePreprocessing"/>;</item>
/// <item>output <see cref="OutputName"/>: <c>float32 [N, classes]</c>, softmax probabilities in class (key) order.</item>
/// </list>
/// The batch dimension N is dynamic. Batch norms are folded into the convolutions and dropout is dropped (eval
/// semantics, whatever the module's training flag). The class names, image size, channels, mean and std are stored in
/// the model's <c>metadata_props</c> (<c>class_names</c> as a JSON array). The file is written atomically: on any error
/// the previous file, if any, is left as it was and no partial file remains.
/// </summary>
public static class OnnxExport
{
    /// <summary>ONNX operator set of the exported graphs (ai.onnx domain).</summary>
    public const int OpsetVersion = 13;

    /// <summary>ONNX IR version written (7, the one that goes with opset 13).</summary>
    public const int IrVersion = 7;

    /// <summary>Name of the graph input: pixels 0–255, <c>float32 [N, C, S, S]</c>.</summary>
    public const string InputName = "pixels";

    /// <summary>Name of the graph output: softmax probabilities, <c>float32 [N, classes]</c>.</summary>
    public const string OutputName = "probabilities";

    /// <summary>Exports a fitted classifier (network, preprocessing, class names) to an ONNX file; see <see cref="OnnxExport"/>.</summary>
    /// <param name="transformer">The fitted classifier, e.g. the trainer's transformer from a fitted ML.NET chain.</param>
    /// <param name="path">The .onnx file to write (replaced if it exists).</param>
    /// <param name="options">Export options; null for the defaults.</param>
    /// <exception cref="NotSupportedException">The model type, or a module in it, has no ONNX conversion (the message names it).</exception>
    /// <exception cref="IOException">The file cannot be written (the message names it).</exception>
    public static void ExportToOnnx(this ImageClassificationTransformer transformer, string path, OnnxExportOptions? options = null)
        => Save(transformer, path, options);

    /// <inheritdoc cref="ExportToOnnx"/>
    public static void Save(ImageClassificationTransformer transformer, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Write(path, Build(transformer.Network, transformer.Preprocessing, transformer.ClassNames, options, transformer.ModelName));
    }

    /// <summary>Exports a network with its preprocessing to an ONNX file; see <see cref="OnnxExport"/>.</summary>
    /// <param name="model">The network (any device; exported with inference semantics).</param>
    /// <param name="preprocessing">The normalisation and image size the network was trained with; its channel count must be the model's.</param>
    /// <param name="path">The .onnx file to write (replaced if it exists).</param>
    /// <param name="classNames">Class names in output order, one per class, stored in the metadata; null to store none.</param>
    /// <param name="options">Export options; null for the defaults.</param>
    /// <exception cref="ArgumentException">The preprocessing or class names do not fit the model.</exception>
    /// <exception cref="NotSupportedException">The model type, or a module in it, has no ONNX conversion (the message names it).</exception>
    /// <exception cref="IOException">The file cannot be written (the message names it).</exception>
    public static void Save(ImageClassifierModel model, ImagePreprocessing preprocessing, string path,
        IReadOnlyList<string>? classNames = null, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Write(path, Build(model, preprocessing, classNames, options, model?.GetType().Name));
    }

    /// <summary>The ONNX model in memory (everything that can fail on the model happens here, before any file is touched).</summary>
    internal static OnnxModel Build(ImageClassifierModel model, ImagePreprocessing preprocessing, IReadOnlyList<string>? classNames,
        OnnxExportOptions? options, string? modelName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(preprocessing);
        options ??= new OnnxExportOptions();
        if (preprocessing.Channels != model.InChannels)
            throw new ArgumentException(
                $"The preprocessing makes {preprocessing.Channels}-channel input but the model expects {model.InChannels} channel(s).", nameof(preprocessing));
        if (classNames is not null && classNames.Count != model.NumClasses)
            throw new ArgumentException($"Expected {model.NumClasses} class names, one per model output; got {classNames.Count}.", nameof(classNames));

        int size = preprocessing.ImageSize, channels = preprocessing.Channels;
        bool lumaInGraph = channels == 1 && options.GrayscaleFromRgb;
        int inputChannels = lumaInGraph ? 3 : channels;

        var g = new OnnxGraphBuilder();
        string x = g.Claim(InputName);
        g.Claim(OutputName);
        if (lumaInGraph) // ImageBatchBuilder: Σ w·RGB, then rounded to a grey level
        {
            string weights = g.Constant("luma.weights", [0.299f, 0.587f, 0.114f], 1, 3, 1, 1);
            x = g.Round(g.ReduceSum(g.Mul(x, weights, "luma.weighted"), [1], "luma.sum"), "luma");
        }
        // ImagePreprocessing.Normalize: x · (1 / (255·std)) − mean / std, in float32 as there.
        float[] scale = preprocessing.Std.Select(s => 1f / (255f * s)).ToArray();
        float[] shift = preprocessing.Mean.Zip(preprocessing.Std, (m, s) => m / s).ToArray();
        x = g.Mul(x, g.Constant("normalize.scale", scale, 1, channels, 1, 1), "normalize.scaled");
        x = g.Sub(x, g.Constant("normalize.shift", shift, 1, channels, 1, 1), "normalize");
        string logits = OnnxArchitectures.Logits(g, model, x);
        g.NodeWithOutput("Softmax", OutputName, [logits], OnnxAttribute.Int("axis", 1));

        string name = modelName ?? model.GetType().Name;
        string colour = inputChannels == 3 ? "R, G, B planes" : "one grey plane";
        var graph = g.ToGraph(name,
            [new OnnxValueInfo(InputName, OnnxDataType.Float, ["N", (long)inputChannels, (long)size, (long)size],
                $"Pixels 0-255, {colour}, planar (NCHW), resized to {size}x{size}: ML.NET ExtractPixels with default settings.")],
            [new OnnxValueInfo(OutputName, OnnxDataType.Float, ["N", (long)model.NumClasses],
                "Softmax probabilities, one per class in class (key) order; the names are in metadata 'class_names'.")]);
        var metadata = new List<KeyValuePair<string, string>>
        {
            new("model_name", name),
            new("image_size", size.ToString(CultureInfo.InvariantCulture)),
            new("input_channels", inputChannels.ToString(CultureInfo.InvariantCulture)),
            new("model_channels", channels.ToString(CultureInfo.InvariantCulture)),
            new("mean", JsonSerializer.Serialize(preprocessing.Mean)),
            new("std", JsonSerializer.Serialize(preprocessing.Std)),
            new("center_crop_fraction", preprocessing.CenterCropFraction.ToString("R", CultureInfo.InvariantCulture)),
        };
        if (classNames is not null) metadata.Add(new("class_names", JsonSerializer.Serialize(classNames)));
        return new OnnxModel
        {
            IrVersion = IrVersion,
            OpsetVersion = OpsetVersion,
            ProducerName = "Lightweight.ML",
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString(3) ?? "",
            DocString = $"{name} image classifier: '{InputName}' float32 [N, {inputChannels}, {size}, {size}] ({colour}, 0-255) -> " +
                        $"'{OutputName}' float32 [N, {model.NumClasses}].",
            Graph = graph,
            Metadata = metadata,
        };
    }

    /// <summary>Writes <paramref name="model"/> atomically (<see cref="AtomicFile"/>); the folder must exist. Errors name the file.</summary>
    private static void Write(string path, OnnxModel model)
    {
        try
        {
            AtomicFile.Write(path, model.WriteTo, createDirectory: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string message = $"Cannot write the ONNX file '{path}': {e.Message}";
            if (e is UnauthorizedAccessException) throw new UnauthorizedAccessException(message, e);
            throw new IOException(message, e);
        }
    }
}

using Lightweight.ML.Data;
using Lightweight.ML.MLNet;
using Lightweight.ML.Models;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using static TorchSharp.torch;

namespace Lightweight.ML;

/// <summary>
/// A fitted image classifier: adds <c>Score</c> (softmax probabilities, <c>SlotNames</c> = class names) and
/// <c>PredictedLabel</c> (key with the label's <c>KeyValues</c>) to its input, running the network in batches of
/// <see cref="BatchSize"/> rows when transforming a data view and one row at a time through a PredictionEngine.
/// The network is in eval mode and runs without gradients; scoring is thread-safe (forwards are serialised).
/// </summary>
public sealed class ImageClassificationTransformer : ITransformer, IDisposable
{
    private readonly object _forwardLock = new();
    private readonly ImageClassifierModel _model;
    private readonly Device _device;
    private bool _disposed;

    internal ImageClassificationTransformer(ImageClassifierModel model, string modelName, ImagePreprocessing preprocessing,
        ScoreColumns outputs, string imageColumnName, string? imagePathColumnName, int batchSize, Device device)
    {
        _model = model;
        _model.eval();
        _device = device;
        ModelName = modelName;
        Preprocessing = preprocessing;
        Outputs = outputs;
        ImageColumnName = imageColumnName;
        ImagePathColumnName = imagePathColumnName;
        BatchSize = batchSize;
    }

    /// <summary>Architecture, e.g. <c>"ShuffleNetV2-0.5x"</c>.</summary>
    public string ModelName { get; }

    /// <summary>Class names in key order (the <c>SlotNames</c> of <c>Score</c>).</summary>
    public IReadOnlyList<string> ClassNames => Outputs.ClassNames;

    /// <summary>Resize and normalisation applied to every image.</summary>
    public ImagePreprocessing Preprocessing { get; }

    /// <summary>Input image column (<c>MLImage</c>).</summary>
    public string ImageColumnName { get; }

    /// <summary>Optional text column naming the image file, used in error messages.</summary>
    public string? ImagePathColumnName { get; }

    /// <summary>Rows per forward when transforming a data view.</summary>
    public int BatchSize { get; }

    /// <summary>The trained network (eval mode). Do not dispose it; dispose the transformer.</summary>
    public ImageClassifierModel Model => _model;

    internal ScoreColumns Outputs { get; }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        RequiredInputColumns(inputSchema);
        return Outputs.Append(inputSchema);
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ThrowIfDisposed();
        return new ImageClassificationDataView(this, input);
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ThrowIfDisposed();
        return new ImageClassificationRowMapper(this, inputSchema);
    }

    /// <summary>
    /// Not supported: ML.NET keeps the model-saving API internal to its own assemblies (dotnet/machinelearning#4911);
    /// use <c>mlContext.Model.SavePipeline</c> / <c>LoadPipeline</c> instead.
    /// </summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => throw new NotSupportedException(
        $"{nameof(ImageClassificationTransformer)} cannot be saved with mlContext.Model.Save: ML.NET's ModelSaveContext is internal " +
        "to ML.NET (dotnet/machinelearning#4911). Save the whole fitted pipeline with mlContext.Model.SavePipeline(model, schema, path) " +
        "and read it back with mlContext.Model.LoadPipeline(path, out schema), or export the network to ONNX.");

    /// <summary>
    /// Releases the network's native memory. A <c>PredictionEngine</c> created from this transformer (or a chain holding it)
    /// calls this when disposed, unless created with <c>PredictionEngineOptions.OwnsTransformer = false</c>.
    /// </summary>
    public void Dispose()
    {
        lock (_forwardLock)
        {
            if (_disposed) return;
            _disposed = true;
            _model.Dispose();
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
            throw new ObjectDisposedException(nameof(ImageClassificationTransformer),
                "This fitted image classifier was disposed. Note that disposing a PredictionEngine disposes the model it was " +
                "created from (ML.NET's default); create engines with new PredictionEngineOptions { OwnsTransformer = false } " +
                "to keep using the model afterwards.");
    }

    /// <summary>Runs <paramref name="action"/> on the network while no forward runs and the model is not disposed.</summary>
    internal void WithModel(Action<ImageClassifierModel> action)
    {
        lock (_forwardLock)
        {
            ThrowIfDisposed();
            action(_model);
        }
    }

    internal DataViewSchema.Column[] RequiredInputColumns(DataViewSchema inputSchema)
        => ImageRowReader.RequiredColumns(inputSchema, ImageColumnName, ImagePathColumnName, allowPathOnly: false);

    internal ImageRowReader CreateImageReader(DataViewRow row) => ImageRowReader.Create(row, ImageColumnName, ImagePathColumnName);

    /// <summary>Softmax probabilities of a <c>uint8 [N, C, S, S]</c> batch into <paramref name="destination"/> (N × classes, row-major).</summary>
    internal void Score(Tensor pixels, Span<float> destination)
    {
        lock (_forwardLock)
        {
            ThrowIfDisposed();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var x = Preprocessing.Normalize(pixels, _device);
            var probabilities = nn.functional.softmax(_model.call(x), 1).cpu().contiguous();
            probabilities.data<float>().CopyTo(destination);
        }
    }
}

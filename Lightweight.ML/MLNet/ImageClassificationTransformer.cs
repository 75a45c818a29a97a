using Lightweight.ML.Data;
using Lightweight.ML.Export;
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
/// The network runs in ONNX Runtime on the CPU by default, in TorchSharp (eval mode, no gradients) otherwise; see
/// <see cref="ScoringEngine"/>. Scoring is thread-safe (forwards are serialised).
/// </summary>
public sealed class ImageClassificationTransformer : ITransformer, IDisposable
{
    private readonly object _forwardLock = new();
    private readonly ImageClassifierModel _model;
    private readonly Device _device;
    private bool _disposed;
    private ScoringEngine _scoringEngine;
    /// <summary>The ONNX Runtime session of the current weights, made on first use; null until then or when TorchSharp scores.</summary>
    private OnnxRuntimeScorer? _onnx;
    /// <summary>Set when Auto tried ONNX Runtime and the network did not convert: TorchSharp scores from then on.</summary>
    private bool _onnxUnavailable;

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

    /// <summary>
    /// The trained network (eval mode). Do not dispose it; dispose the transformer. Reading this property drops the ONNX
    /// Runtime copy of the weights (if any), so scoring after a change to the network's weights sees the change: the next
    /// score rebuilds the session (tens of milliseconds).
    /// </summary>
    public ImageClassifierModel Model
    {
        get
        {
            lock (_forwardLock)
            {
                DropOnnxSession();
                return _model;
            }
        }
    }

    /// <summary>The network, for the library's own read-only use (export, saving): keeps the ONNX Runtime session.</summary>
    internal ImageClassifierModel Network => _model;

    /// <summary>
    /// What runs the network when scoring: <see cref="ScoringEngine.Auto"/> (the default) is ONNX Runtime on the CPU and
    /// TorchSharp on a GPU. Set it before or between scoring calls; the predictions are the same to float rounding.
    /// </summary>
    public ScoringEngine ScoringEngine
    {
        get => _scoringEngine;
        set
        {
            if (!Enum.IsDefined(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown ScoringEngine.");
            lock (_forwardLock)
            {
                if (value == _scoringEngine) return;
                _scoringEngine = value;
                _onnxUnavailable = false;
                DropOnnxSession();
            }
        }
    }

    /// <summary>The engine that scores now: <see cref="ScoringEngine"/> with <see cref="ScoringEngine.Auto"/> resolved.</summary>
    internal ScoringEngine EffectiveScoringEngine => _scoringEngine switch
    {
        ScoringEngine.Auto => _device.type == TorchSharp.DeviceType.CPU && !_onnxUnavailable && OnnxArchitectures.IsSupported(_model)
            ? ScoringEngine.OnnxRuntime : ScoringEngine.TorchSharp,
        var engine => engine,
    };

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
            DropOnnxSession();
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
            if (EffectiveScoringEngine == ScoringEngine.OnnxRuntime && OnnxSession() is { } onnx)
            {
                onnx.Score(pixels, destination);
                return;
            }
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var x = Preprocessing.Normalize(pixels, _device);
            var probabilities = nn.functional.softmax(_model.call(x), 1).cpu().contiguous();
            probabilities.data<float>().CopyTo(destination);
        }
    }

    /// <summary>
    /// The ONNX Runtime session of the current weights (called under the forward lock); null when <see cref="ScoringEngine.Auto"/>
    /// finds that the network does not convert or ONNX Runtime rejects its graph, which makes TorchSharp score from then on.
    /// </summary>
    private OnnxRuntimeScorer? OnnxSession()
    {
        if (_onnx is not null) return _onnx;
        if (_device.type != TorchSharp.DeviceType.CPU)
            throw new NotSupportedException($"ScoringEngine.OnnxRuntime scores on the CPU, but this {ModelName} is on {_device}. " +
                                            "Use ScoringEngine.TorchSharp (or Auto) for a GPU model.");
        try
        {
            return _onnx = new OnnxRuntimeScorer(_model, Preprocessing, get_num_threads());
        }
        catch (Exception e) when (_scoringEngine == ScoringEngine.Auto && e is NotSupportedException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            _onnxUnavailable = true;
            return null;
        }
    }

    private void DropOnnxSession()
    {
        _onnx?.Dispose();
        _onnx = null;
    }
}

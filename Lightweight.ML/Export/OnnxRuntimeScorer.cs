using System.Buffers;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Lightweight.ML.Models;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace Lightweight.ML.Export;

/// <summary>
/// A network scored in ONNX Runtime: the graph <see cref="OnnxExport"/> writes (pixels 0–255 in, normalisation, the
/// network with batch norms folded, softmax out), built in memory from the network's weights at construction. Two
/// sessions of that graph: the single-image one made at construction (so a graph ONNX Runtime rejects fails there), the
/// batch one on first use. Batches run with <c>threads</c> intra-op threads whose workers do not
/// spin-wait between calls (they would take the cores the next batch's decoding needs), single images on the calling
/// thread alone (measured on 2 cores: a batch-1 forward is faster with one thread than with two, and its p99 far lower,
/// because nothing is handed to a pool thread). A snapshot: later changes to the network's weights are not seen (make a
/// new scorer). The pixel and probability buffers are rented, so repeated calls do not allocate arrays. Callers serialise
/// <see cref="Score"/> against <see cref="Dispose"/>.
/// </summary>
internal sealed class OnnxRuntimeScorer : IDisposable
{
    private static readonly string[] InputNames = [OnnxExport.InputName];
    private static readonly string[] OutputNames = [OnnxExport.OutputName];

    private readonly byte[] _graph;
    private readonly RunOptions _runOptions = new();
    private readonly int _channels, _size, _classes;
    private readonly InferenceSession _singleSession;
    private InferenceSession? _batchSession;

    /// <exception cref="NotSupportedException">The network (or a module in it) has no ONNX conversion.</exception>
    public OnnxRuntimeScorer(ImageClassifierModel model, ImagePreprocessing preprocessing, int threads)
    {
        var onnx = OnnxExport.Build(model, preprocessing, classNames: null, options: null, modelName: null);
        using var bytes = new MemoryStream();
        onnx.WriteTo(bytes);
        _graph = bytes.ToArray();
        (_channels, _size, _classes) = (preprocessing.Channels, preprocessing.ImageSize, model.NumClasses);
        Threads = Math.Max(1, threads);
        _singleSession = CreateSession(1); // made now so that a graph ONNX Runtime rejects fails here, not on first use
    }

    /// <summary>ONNX Runtime's intra-op threads for batches (single images run on the calling thread).</summary>
    public int Threads { get; }

    /// <summary>Softmax probabilities of a <c>uint8 [N, C, S, S]</c> CPU batch into <paramref name="destination"/> (N × classes, row-major).</summary>
    public void Score(Tensor pixels, Span<float> destination)
    {
        if (pixels.dtype != ScalarType.Byte || pixels.shape is not [var n, var c, var h, var w] || c != _channels || h != _size || w != _size)
            throw new ArgumentException($"Expected uint8 pixels [N, {_channels}, {_size}, {_size}]; got {pixels.dtype} [{string.Join(", ", pixels.shape)}].", nameof(pixels));
        int inputLength = checked((int)(n * _channels * _size * _size)), outputLength = checked((int)(n * _classes));
        if (destination.Length < outputLength)
            throw new ArgumentException($"Destination holds {destination.Length} values; {outputLength} needed.", nameof(destination));
        var session = n == 1 || Threads == 1
            ? _singleSession
            : _batchSession ??= CreateSession(Threads);

        var input = ArrayPool<float>.Shared.Rent(inputLength);
        var output = ArrayPool<float>.Shared.Rent(outputLength);
        try
        {
            using (var contiguous = pixels.contiguous())
                TensorPrimitives.ConvertChecked<byte, float>(contiguous.bytes, input.AsSpan(0, inputLength));
            using var inputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.AsMemory(0, inputLength),
                [n, _channels, _size, _size]);
            using var outputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, output.AsMemory(0, outputLength),
                [n, _classes]);
            session.Run(_runOptions, InputNames, [inputValue], OutputNames, [outputValue]);
            output.AsSpan(0, outputLength).CopyTo(destination);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(input);
            ArrayPool<float>.Shared.Return(output);
        }
    }

    public void Dispose()
    {
        _batchSession?.Dispose();
        _singleSession.Dispose();
        _runOptions.Dispose();
    }

    private InferenceSession CreateSession(int threads)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        if (threads > 1) options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return new InferenceSession(_graph, options);
    }
}

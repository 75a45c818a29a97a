using System.Buffers.Binary;
using System.Text.Json;
using Lightweight.ML.Export;
using static TorchSharp.torch;

namespace Lightweight.ML;

/// <summary>
/// Reads and writes Hugging Face's safetensors format, the interchange format of PyTorch, timm and transformers
/// weights: an 8-byte little-endian header length, a JSON header (each tensor's <c>dtype</c>, <c>shape</c> and
/// <c>data_offsets</c>, plus an optional <c>__metadata__</c> string map) and the raw little-endian tensor bytes.
/// Element types: F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL. Reading validates the whole header first (see
/// <see cref="MaxHeaderBytes"/>) and never executes code; a bad file throws an <see cref="InvalidDataException"/> that
/// names the file and, where it applies, the tensor. For a model's weights use <see cref="ModelWeights"/>.
/// </summary>
public static class Safetensors
{
    /// <summary>Largest header accepted, as in the reference implementation: 100,000,000 bytes.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Reads the <c>__metadata__</c> map of a safetensors file (empty when it has none); no tensor data is read.</summary>
    /// <exception cref="InvalidDataException">The file is not valid safetensors.</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return SafetensorsReader.ReadIndex(path).Metadata;
    }

    /// <summary>Reads every tensor of a safetensors file, on the CPU, in its stored element type, in file order.</summary>
    /// <returns>Name → tensor; the caller owns (disposes) the tensors.</returns>
    /// <exception cref="InvalidDataException">The file is not valid safetensors.</exception>
    public static Dictionary<string, Tensor> Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var index = SafetensorsReader.ReadIndex(path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using var file = index.OpenData();
            foreach (var entry in index.Entries)
                result[entry.Name] = index.Read(file, entry).DetachFromDisposeScope();
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes tensors to a safetensors file, in the given order, atomically (a temporary file in the same folder, flushed,
    /// then moved over <paramref name="path"/>). The header is padded with spaces to a multiple of 8 bytes.
    /// </summary>
    /// <param name="path">Target file; its folder is created if missing.</param>
    /// <param name="tensors">Name → tensor, on any device, of a supported element type; names unique and not <c>__metadata__</c>.</param>
    /// <param name="metadata">Optional <c>__metadata__</c> strings.</param>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(tensors);
        WeightsFileIndex.RequireLittleEndian();
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in list)
        {
            if (string.IsNullOrEmpty(name) || name == "__metadata__")
                throw new ArgumentException($"'{name}' cannot name a tensor in a safetensors file.", nameof(tensors));
            if (!names.Add(name))
                throw new ArgumentException($"Tensor name '{name}' appears twice.", nameof(tensors));
            if (WeightsDType.FromScalarType(tensor.dtype) is null)
                throw new ArgumentException($"Tensor '{name}' has element type {tensor.dtype}, which safetensors files here cannot hold " +
                                            $"(supported: {WeightsDType.Supported}).", nameof(tensors));
        }
        var header = Header(list, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var (_, tensor) in list)
            {
                using var scope = NewDisposeScope();
                WeightsFileIndex.WriteBytes(stream, tensor.detach().cpu().contiguous());
            }
        });
    }

    /// <summary>The JSON header, padded with spaces so the data section starts at a multiple of 8.</summary>
    private static byte[] Header(List<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor) in tensors)
            {
                var dtype = WeightsDType.FromScalarType(tensor.dtype)!;
                long bytes = tensor.numel() * dtype.Size;
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype.Name);
                json.WriteStartArray("shape");
                foreach (long d in tensor.shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        while (buffer.Length % 8 != 0) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }
}

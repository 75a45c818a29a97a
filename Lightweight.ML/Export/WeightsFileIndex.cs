using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace Lightweight.ML.Export;

/// <summary>One tensor of a weights file: its name, element type, shape, and where its raw little-endian bytes lie.</summary>
internal sealed record TensorEntry(string Name, WeightsDType DType, long[] Shape, long Offset, long ByteCount)
{
    public string ShapeText => FormatShape(Shape);

    public static string FormatShape(long[] shape) => "[" + string.Join(", ", shape) + "]";
}

/// <summary>Which format a weights file is in.</summary>
internal enum WeightsFileFormat
{
    /// <summary>Hugging Face safetensors.</summary>
    Safetensors,
    /// <summary>TorchSharp's <c>Module.save</c> format (<c>.dat</c>).</summary>
    TorchSharp,
}

/// <summary>
/// The validated table of contents of a weights file: every entry's bytes lie inside the file, so reading them cannot run
/// past its end or allocate more than it holds. Tensors are read on demand, straight into native tensor memory.
/// </summary>
internal sealed class WeightsFileIndex
{
    /// <summary>Bytes copied per read call; tensors larger than this are read in several calls.</summary>
    private const long ChunkBytes = 1L << 26;

    public WeightsFileIndex(string path, WeightsFileFormat format, IReadOnlyList<TensorEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        Format = format;
        Entries = entries;
        Metadata = metadata;
        ByName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
    }

    public string Path { get; }
    public WeightsFileFormat Format { get; }

    /// <summary>Entries in file order.</summary>
    public IReadOnlyList<TensorEntry> Entries { get; }

    public IReadOnlyDictionary<string, TensorEntry> ByName { get; }

    /// <summary>safetensors <c>__metadata__</c> (empty for TorchSharp files).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Picks the format from the extension (<c>.safetensors</c>; anything else is TorchSharp's) and reads the index.</summary>
    public static WeightsFileIndex Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
            throw new FileNotFoundException($"Weights file '{path}' is a directory, not a file.", path);
        return IsSafetensorsPath(path) ? SafetensorsReader.ReadIndex(path) : TorchSharpWeightsReader.ReadIndex(path);
    }

    public static bool IsSafetensorsPath(string path)
        => string.Equals(System.IO.Path.GetExtension(path), ".safetensors", StringComparison.OrdinalIgnoreCase);

    /// <summary>Opens the file for <see cref="Read"/>.</summary>
    public SafeFileHandle OpenData() => File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.Read);

    /// <summary>Reads one entry into a new CPU tensor of its stored element type (bulk copies, no per-element loop).</summary>
    public Tensor Read(SafeFileHandle file, TensorEntry entry)
    {
        var result = empty(entry.Shape, entry.DType.ScalarType);
        try
        {
            if (entry.ByteCount == 0) return result;
            using var scope = NewDisposeScope();
            var flat = result.view(-1);
            long count = flat.shape[0], perChunk = ChunkBytes / entry.DType.Size;
            for (long start = 0; start < count; start += perChunk)
            {
                var span = flat.narrow(0, start, Math.Min(perChunk, count - start)).bytes;
                long offset = entry.Offset + start * entry.DType.Size;
                while (!span.IsEmpty)
                {
                    int read = RandomAccess.Read(file, span, offset);
                    if (read == 0)
                        throw new InvalidDataException($"Weights file '{Path}' ended while reading tensor '{entry.Name}'; it was truncated or changed while being read.");
                    span = span[read..];
                    offset += read;
                }
            }
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>Writes the raw bytes of a contiguous CPU tensor (little-endian, as libtorch holds them on every supported platform).</summary>
    internal static void WriteBytes(Stream stream, Tensor tensor)
    {
        long elementSize = tensor.ElementSize, count = tensor.numel();
        if (count == 0) return;
        using var scope = NewDisposeScope();
        var flat = tensor.view(-1);
        long perChunk = ChunkBytes / elementSize;
        for (long start = 0; start < count; start += perChunk)
            stream.Write(flat.narrow(0, start, Math.Min(perChunk, count - start)).bytes);
    }

    /// <summary>Throws on big-endian hosts, where the raw bytes would need swapping.</summary>
    internal static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Weights files hold little-endian data; big-endian hosts are not supported.");
    }
}

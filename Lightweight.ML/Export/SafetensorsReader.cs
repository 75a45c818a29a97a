using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Lightweight.ML.Export;

/// <summary>
/// Reads and validates the header of a safetensors file (https://github.com/huggingface/safetensors, format version 1):
/// <code>
/// u64 little-endian  N, the header length in bytes
/// N bytes            UTF-8 JSON object: { "__metadata__": {string: string}?,
///                                         "name": {"dtype": "F32", "shape": [d0, d1...], "data_offsets": [begin, end]}, ... }
///                    (may end with spaces, which pad it to a multiple of 8)
/// rest               the data section: every tensor's raw little-endian bytes, row-major, at [begin, end) relative to it
/// </code>
/// Everything is checked before any tensor is read: N against the file size and <see cref="Safetensors.MaxHeaderBytes"/>
/// (so a forged length cannot cause a huge allocation), well-formed JSON, known dtypes, byte counts equal to
/// shape product × element size, and offsets that tile the data section exactly (contiguous, non-overlapping, nothing
/// left over) as the reference implementation requires. Loading never executes code.
/// </summary>
internal static class SafetensorsReader
{
    public static WeightsFileIndex ReadIndex(string path)
    {
        WeightsFileIndex.RequireLittleEndian();
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = RandomAccess.GetLength(file);
        if (length < 8)
            throw Bad(path, $"it is {length} byte(s) long, shorter than the 8-byte header length that starts every safetensors file");
        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(file, prefix, 0, path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)(length - 8))
            throw Bad(path, $"its header length field says {headerLength:N0} bytes, but the file has only {length - 8:N0} bytes after it (truncated or not safetensors)");
        if (headerLength > Safetensors.MaxHeaderBytes)
            throw Bad(path, $"its header of {headerLength:N0} bytes exceeds the {Safetensors.MaxHeaderBytes:N0}-byte limit");
        if (headerLength < 2)
            throw Bad(path, $"its header of {headerLength} byte(s) is too short for a JSON object");

        var header = new byte[headerLength];
        ReadExactly(file, header, 8, path);
        long dataStart = 8 + (long)headerLength, dataLength = length - dataStart;
        var (entries, metadata) = ParseHeader(header, path, dataStart, dataLength);
        return new WeightsFileIndex(path, WeightsFileFormat.Safetensors, entries, metadata);
    }

    private static (List<TensorEntry>, Dictionary<string, string>) ParseHeader(byte[] header, string path, long dataStart, long dataLength)
    {
        if (header[0] != (byte)'{')
            throw Bad(path, $"its header is not a JSON object (it starts with byte 0x{header[0]:X2}, not '{{')");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Bad(path, $"its header is not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Bad(path, "its header is not a JSON object");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<(TensorEntry Entry, long Begin, long End)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw Bad(path, $"its header names '{property.Name}' twice");
                if (property.Name == "__metadata__")
                    ReadMetadata(property.Value, metadata, path);
                else
                    entries.Add(ReadEntry(property.Name, property.Value, path, dataStart));
            }
            CheckOffsets(entries, path, dataLength);
            return (entries.Select(e => e.Entry).ToList(), metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Bad(path, "its __metadata__ is not a JSON object");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Bad(path, $"its __metadata__ value for '{item.Name}' is not a string");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static (TensorEntry, long Begin, long End) ReadEntry(string name, JsonElement value, string path, long dataStart)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw BadTensor(path, name, "its header entry is not a JSON object");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw BadTensor(path, name, "it has no \"dtype\" string");
        string dtypeName = dtypeElement.GetString()!;
        var dtype = WeightsDType.FromName(dtypeName)
                    ?? throw BadTensor(path, name, $"its dtype '{dtypeName}' is not supported (supported: {WeightsDType.Supported})");
        var shape = ReadIntegers(value, "shape", path, name);
        var offsets = ReadIntegers(value, "data_offsets", path, name);
        if (offsets.Length != 2 || offsets[0] > offsets[1])
            throw BadTensor(path, name, $"its data_offsets {TensorEntry.FormatShape(offsets)} are not a [begin, end] pair with begin <= end");
        long byteCount;
        try
        {
            byteCount = shape.Aggregate((long)dtype.Size, (product, d) => checked(product * d));
        }
        catch (OverflowException e)
        {
            throw BadTensor(path, name, $"its shape {TensorEntry.FormatShape(shape)} is too large", e);
        }
        if (byteCount != offsets[1] - offsets[0])
            throw BadTensor(path, name, $"shape {TensorEntry.FormatShape(shape)} of {dtype.Name} needs {byteCount:N0} bytes, " +
                                        $"but data_offsets {TensorEntry.FormatShape(offsets)} span {offsets[1] - offsets[0]:N0}");
        return (new TensorEntry(name, dtype, shape, dataStart + offsets[0], byteCount), offsets[0], offsets[1]);
    }

    private static long[] ReadIntegers(JsonElement entry, string property, string path, string name)
    {
        if (!entry.TryGetProperty(property, out var array) || array.ValueKind != JsonValueKind.Array)
            throw BadTensor(path, name, $"it has no \"{property}\" array");
        var values = new long[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long v) || v < 0)
                throw BadTensor(path, name, $"its \"{property}\" holds {item.GetRawText()}, not a non-negative integer");
            values[i++] = v;
        }
        return values;
    }

    /// <summary>The entries must tile the data section: sorted by offset, each starts where the previous ended.</summary>
    private static void CheckOffsets(List<(TensorEntry Entry, long Begin, long End)> entries, string path, long dataLength)
    {
        long expected = 0;
        string? previous = null;
        foreach (var (entry, begin, end) in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (end > dataLength)
                throw BadTensor(path, entry.Name, $"its data_offsets [{begin}, {end}] reach past the {dataLength:N0}-byte data section (truncated file?)");
            if (begin < expected)
                throw BadTensor(path, entry.Name, $"its data_offsets [{begin}, {end}] overlap tensor '{previous}', which ends at {expected}");
            if (begin > expected)
                throw BadTensor(path, entry.Name, $"its data_offsets [{begin}, {end}] leave a gap of {begin - expected:N0} bytes before it");
            expected = end;
            previous = entry.Name;
        }
        if (expected != dataLength)
            throw Bad(path, $"{dataLength - expected:N0} byte(s) at the end of its data section belong to no tensor");
    }

    private static void ReadExactly(SafeFileHandle file, Span<byte> buffer, long offset, string path)
    {
        while (!buffer.IsEmpty)
        {
            int read = RandomAccess.Read(file, buffer, offset);
            if (read == 0) throw Bad(path, "it ended unexpectedly");
            buffer = buffer[read..];
            offset += read;
        }
    }

    private static InvalidDataException Bad(string path, string reason, Exception? inner = null)
        => new($"'{path}' is not a valid safetensors file: {reason}.", inner);

    private static InvalidDataException BadTensor(string path, string tensor, string reason, Exception? inner = null)
        => new($"'{path}' is not a valid safetensors file: tensor '{tensor}': {reason}.", inner);
}

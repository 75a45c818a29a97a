using System.Text;

namespace Lightweight.ML.Export;

/// <summary>
/// Reads and validates the table of contents of a file in TorchSharp's own format, as <c>Module.save</c> writes it
/// (TorchSharp 0.10x, <c>.dat</c> by convention):
/// <code>
/// LEB128            number of entries
/// per entry:        key   (a .NET BinaryWriter string: 7-bit-encoded byte count, UTF-8 bytes)
///                   LEB128 element type (TorchSharp ScalarType code), LEB128 rank, LEB128 each dimension
///                   the raw little-endian bytes of the tensor, row-major
/// </code>
/// Every count, length and dimension is checked against the bytes left in the file before it is used, so a corrupt or
/// forged file gives an <see cref="InvalidDataException"/> naming the file (and entry), never a huge allocation.
/// The file must end right after the last entry. PyTorch's pickle-based <c>.pt</c>/<c>.pth</c> files are recognised and
/// refused: loading never executes code.
/// </summary>
internal static class TorchSharpWeightsReader
{
    private const int MaxKeyBytes = 1 << 16;
    private const int MaxRank = 64;

    public static WeightsFileIndex ReadIndex(string path)
    {
        WeightsFileIndex.RequireLittleEndian();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        if (stream.Length == 0)
            throw Bad(path, "it is empty");
        try
        {
            return ReadIndex(stream, path);
        }
        catch (InvalidDataException e) when (ForeignFormat(stream, path, e) is { } foreign)
        {
            throw foreign;
        }
    }

    private static WeightsFileIndex ReadIndex(FileStream stream, string path)
    {
        long length = stream.Length;
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        var entries = new List<TensorEntry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        long count = 0;
        try
        {
            count = ReadLeb128(reader, path, "the entry count");
            if (count > length)
                throw Bad(path, $"it claims {count:N0} entries in {length:N0} bytes (truncated, or not a TorchSharp file)");
            for (long i = 0; i < count; i++)
            {
                var entry = ReadEntry(reader, stream, path, i);
                if (!names.Add(entry.Name))
                    throw Bad(path, $"entry '{entry.Name}' appears twice");
                entries.Add(entry);
                stream.Seek(entry.ByteCount, SeekOrigin.Current);
            }
        }
        catch (EndOfStreamException e)
        {
            throw Bad(path, $"it ends inside entry {entries.Count + 1} of {count} (truncated?)", e);
        }
        if (stream.Position != length)
            throw Bad(path, $"{length - stream.Position:N0} byte(s) follow its last entry");
        return new WeightsFileIndex(path, WeightsFileFormat.TorchSharp, entries, new Dictionary<string, string>());
    }

    private static TensorEntry ReadEntry(BinaryReader reader, Stream stream, string path, long index)
    {
        int keyLength;
        try
        {
            keyLength = reader.Read7BitEncodedInt();
        }
        catch (FormatException e)
        {
            throw Bad(path, $"the name of entry {index + 1} has a corrupt length", e);
        }
        if (keyLength is < 0 or > MaxKeyBytes || keyLength > stream.Length - stream.Position)
            throw Bad(path, $"the name of entry {index + 1} claims {keyLength:N0} bytes");
        string name;
        try
        {
            name = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(reader.ReadBytes(keyLength));
        }
        catch (DecoderFallbackException e)
        {
            throw Bad(path, $"the name of entry {index + 1} is not UTF-8", e);
        }
        long code = ReadLeb128(reader, path, $"the element type of '{name}'");
        var dtype = code <= sbyte.MaxValue ? WeightsDType.FromScalarType((TorchSharp.torch.ScalarType)(sbyte)code) : null;
        if (dtype is null)
            throw BadEntry(path, name, $"its element type code {code} is not supported (supported: {WeightsDType.Supported})");
        long rank = ReadLeb128(reader, path, $"the rank of '{name}'");
        if (rank > MaxRank)
            throw BadEntry(path, name, $"its rank {rank} is not plausible");
        var shape = new long[rank];
        for (int d = 0; d < rank; d++)
            shape[d] = ReadLeb128(reader, path, $"the shape of '{name}'");
        long bytes;
        try
        {
            bytes = shape.Aggregate((long)dtype.Size, (product, d) => checked(product * d));
        }
        catch (OverflowException)
        {
            bytes = long.MaxValue;
        }
        long remaining = stream.Length - stream.Position;
        if (bytes > remaining)
            throw BadEntry(path, name, $"shape {TensorEntry.FormatShape(shape)} of {dtype.Name} needs " +
                                       (bytes == long.MaxValue ? "more bytes than the file has" : $"{bytes:N0} bytes but only {remaining:N0} remain (truncated?)"));
        return new TensorEntry(name, dtype, shape, stream.Position, bytes);
    }

    /// <summary>An unsigned LEB128 number of at most 63 bits (TorchSharp's encoding of counts, types and dimensions).</summary>
    private static long ReadLeb128(BinaryReader reader, string path, string what)
    {
        long result = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = reader.ReadByte();
            if (shift == 63 && b > 0 || shift > 63)
                throw Bad(path, $"{what} is not a valid number");
            result |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return result;
        }
    }

    /// <summary>
    /// For a file that failed to parse: a clearer message when it is in fact PyTorch's torch.save output (a zip archive or
    /// a bare pickle) or a safetensors file; <c>null</c> otherwise.
    /// </summary>
    private static InvalidDataException? ForeignFormat(Stream stream, string path, InvalidDataException error)
    {
        Span<byte> head = stackalloc byte[9];
        stream.Position = 0;
        int n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        bool zip = n >= 4 && head[..4].SequenceEqual("PK\u0003\u0004"u8);
        bool pickle = n >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5;
        if (zip || pickle)
            return Bad(path, $"it is a {(zip ? "zip archive" : "Python pickle")}, as PyTorch's torch.save writes. Such files are not read: " +
                             "unpickling can execute code. Save the state_dict as .safetensors instead (safetensors.torch.save_file)", error);
        if (n == 9 && head[8] == (byte)'{')
            return Bad(path, "it looks like a safetensors file; give it the .safetensors extension", error);
        return null;
    }

    private static InvalidDataException Bad(string path, string reason, Exception? inner = null)
        => new($"'{path}' is not a valid TorchSharp weights file (Module.save format): {reason}.", inner);

    private static InvalidDataException BadEntry(string path, string entry, string reason)
        => new($"'{path}' is not a valid TorchSharp weights file (Module.save format): entry '{entry}': {reason}.");
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Lightweight.ML.Training;

/// <summary>
/// Training state at an epoch boundary, written atomically so a kill at any moment leaves the previous file intact.
/// <para>Layout (little-endian): the 8 ASCII bytes <c>LWMLCKPT</c>; an int32 format version (2); an int32 byte count and
/// that many bytes of UTF-8 JSON (<see cref="CheckpointHeader"/>); the model in TorchSharp's module format
/// (<c>Module.save</c>); a byte 1/0 and, if 1, the optimizer state (<c>save_state_dict</c>); three length-prefixed RNG
/// states (shuffling generator, augmentation generator, libtorch's global generator); the 8 ASCII bytes <c>LWMLEND!</c>;
/// since version 2, the SHA-256 of everything before it (32 bytes). Version 1 files (no digest) still load.</para>
/// The digest is checked before anything is parsed: a damaged file never reaches TorchSharp's readers, which trust what
/// they read (a wrong-sized RNG state makes libtorch abort the process) and would load flipped weight bits silently.
/// Files are written to <c>name.tmp</c>, flushed to disk, then renamed over <c>name</c>.
/// </summary>
internal static class Checkpoint
{
    private const int FormatVersion = 2;
    private const int DigestBytes = 32;
    private static readonly byte[] Magic = "LWMLCKPT"u8.ToArray();
    private static readonly byte[] EndMarker = "LWMLEND!"u8.ToArray();

    /// <summary>Writes a checkpoint atomically.</summary>
    public static void Save(string path, CheckpointHeader header, nn.Module model, optim.Optimizer? optimizer,
        Generator shuffle, Generator augment)
    {
        var temp = path + ".tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None))
            using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(Magic);
                writer.Write(FormatVersion);
                var json = JsonSerializer.SerializeToUtf8Bytes(header);
                writer.Write(json.Length);
                writer.Write(json);
                model.save(writer);
                writer.Write(optimizer is not null);
                if (optimizer is not null) ((TorchSharp.Modules.OptimizerHelper)optimizer).save_state_dict(writer);
                using (var s = shuffle.get_state()) WriteBytes(writer, s);
                using (var a = augment.get_state()) WriteBytes(writer, a);
                using (var g = get_rng_state()) WriteBytes(writer, g);
                writer.Write(EndMarker);
                writer.Flush();
                stream.Position = 0;
                var digest = SHA256.HashData(stream); // reads to the end, so the digest is appended
                stream.Write(digest);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new IOException($"Could not write checkpoint '{path}': {e.Message}", e);
        }
    }

    /// <summary>Deletes the <c>*.ckpt.tmp</c> files of saves cut short by a crash (the checkpoints themselves are intact).</summary>
    public static void DeleteStaleTemporaryFiles(string folder)
    {
        if (!Directory.Exists(folder)) return;
        foreach (var temp in Directory.EnumerateFiles(folder, "*.ckpt.tmp")) TryDelete(temp);
    }

    /// <summary>Reads only the header of a checkpoint (to check it fits before loading).</summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, is of another version, or is truncated.</exception>
    public static CheckpointHeader ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        return ReadHeader(reader, path);
    }

    /// <summary>Loads a checkpoint into the model, optimizer and generators.</summary>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated, or was written for another model.</exception>
    public static CheckpointHeader Load(string path, nn.Module model, optim.Optimizer? optimizer, Generator shuffle, Generator augment)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var reader = new BinaryReader(stream);
            var header = ReadHeader(reader, path, out int version);
            long end = stream.Length;
            if (version >= 2)
            {
                end -= DigestBytes;
                VerifyDigest(stream, end, path);
                stream.Position = 0;
                ReadHeader(reader, path, out _);
            }
            model.load(reader, strict: true);
            bool hasOptimizer = reader.ReadBoolean();
            if (hasOptimizer && optimizer is not null) ((TorchSharp.Modules.OptimizerHelper)optimizer).load_state_dict(reader);
            else if (hasOptimizer) throw new InvalidDataException("unexpected optimizer state");
            // libtorch aborts the process (an uncaught C++ exception) on a state of the wrong size: check it first.
            using (var s = ReadState(reader, shuffle.get_state(), "shuffling")) shuffle.set_state(s);
            using (var a = ReadState(reader, augment.get_state(), "augmentation")) augment.set_state(a);
            using (var g = ReadState(reader, get_rng_state(), "global")) set_rng_state(g);
            if (!reader.ReadBytes(EndMarker.Length).AsSpan().SequenceEqual(EndMarker) || stream.Position != end)
                throw new InvalidDataException("missing end marker");
            return header;
        }
        catch (Exception e) when (e is not InvalidDataException || !e.Message.StartsWith("Checkpoint '"))
        {
            throw new InvalidDataException($"Checkpoint '{path}' could not be loaded ({e.Message}); it is corrupt, truncated or " +
                                           "was written for a different model. Delete it or set Resume = false.", e);
        }
    }

    private static CheckpointHeader ReadHeader(BinaryReader reader, string path) => ReadHeader(reader, path, out _);

    private static CheckpointHeader ReadHeader(BinaryReader reader, string path, out int version)
    {
        try
        {
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
                throw new InvalidDataException($"Checkpoint '{path}' is not a Lightweight.ML checkpoint.");
            version = reader.ReadInt32();
            if (version is < 1 or > FormatVersion)
                throw new InvalidDataException($"Checkpoint '{path}' has format version {version}; this library reads versions 1 to {FormatVersion}.");
            int length = reader.ReadInt32();
            if (length is <= 0 or > 1 << 20 || length > reader.BaseStream.Length - reader.BaseStream.Position)
                throw new InvalidDataException($"Checkpoint '{path}' has a corrupt header length ({length}).");
            return JsonSerializer.Deserialize<CheckpointHeader>(reader.ReadBytes(length))
                   ?? throw new InvalidDataException($"Checkpoint '{path}' has an empty header.");
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException)
        {
            throw new InvalidDataException($"Checkpoint '{path}' is truncated or has a corrupt header.", e);
        }
    }

    /// <summary>Compares the SHA-256 of the file's first <paramref name="end"/> bytes with the digest stored after them.</summary>
    private static void VerifyDigest(Stream stream, long end, string path)
    {
        if (end < 0)
            throw new InvalidDataException($"Checkpoint '{path}' is truncated: it is too short to hold its SHA-256 digest.");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        stream.Position = 0;
        for (long left = end; left > 0;)
        {
            int read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read == 0) throw new EndOfStreamException();
            hash.AppendData(buffer, 0, read);
            left -= read;
        }
        Span<byte> stored = stackalloc byte[DigestBytes];
        stream.ReadExactly(stored);
        if (!hash.GetHashAndReset().AsSpan().SequenceEqual(stored))
            throw new InvalidDataException($"Checkpoint '{path}' is corrupt: its content does not match its SHA-256 digest " +
                                           "(truncated, or changed after it was written). Delete it or set Resume = false.");
    }

    /// <summary>A length-prefixed RNG state that must have the size of <paramref name="current"/> (which is disposed).</summary>
    private static Tensor ReadState(BinaryReader reader, Tensor current, string generator)
    {
        long expected;
        using (current) expected = current.numel();
        var state = ReadBytes(reader);
        if (state.numel() != expected)
        {
            long actual = state.numel();
            state.Dispose();
            throw new InvalidDataException($"the {generator} generator state has {actual} bytes instead of {expected}");
        }
        return state;
    }

    private static void WriteBytes(BinaryWriter writer, Tensor state)
    {
        var bytes = state.data<byte>().ToArray();
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    private static Tensor ReadBytes(BinaryReader reader)
    {
        int length = reader.ReadInt32();
        if (length is < 0 or > 1 << 24) throw new InvalidDataException($"corrupt RNG state length {length}");
        var bytes = reader.ReadBytes(length);
        if (bytes.Length != length) throw new EndOfStreamException();
        return tensor(bytes, ScalarType.Byte);
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>What a checkpoint records besides tensors.</summary>
internal sealed record CheckpointHeader
{
    public required string Model { get; init; }
    public required int Classes { get; init; }
    public required int ImageSize { get; init; }
    public required int Epoch { get; init; }
    public required long Step { get; init; }
    public double? BestMetric { get; init; }
    public int BestEpoch { get; init; }
    public int EpochsWithoutImprovement { get; init; }
    public double[] ScheduleState { get; init; } = [];
}

using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Lightweight.ML.Training;

/// <summary>
/// Training state at an epoch boundary, written atomically so a kill at any moment leaves the previous file intact.
/// <para>Layout (little-endian): the 8 ASCII bytes <c>LWMLCKPT</c>; an int32 format version (1); an int32 byte count and
/// that many bytes of UTF-8 JSON (<see cref="CheckpointHeader"/>); the model in TorchSharp's module format
/// (<c>Module.save</c>); a byte 1/0 and, if 1, the optimizer state (<c>save_state_dict</c>); three length-prefixed RNG
/// states (shuffling generator, augmentation generator, libtorch's global generator); the 8 ASCII bytes <c>LWMLEND!</c>.</para>
/// Files are written to <c>name.tmp</c>, flushed to disk, then renamed over <c>name</c>.
/// </summary>
internal static class Checkpoint
{
    private const int FormatVersion = 1;
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
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
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
            var header = ReadHeader(reader, path);
            model.load(reader, strict: true);
            bool hasOptimizer = reader.ReadBoolean();
            if (hasOptimizer && optimizer is not null) ((TorchSharp.Modules.OptimizerHelper)optimizer).load_state_dict(reader);
            else if (hasOptimizer) throw new InvalidDataException("unexpected optimizer state");
            using (var s = ReadBytes(reader)) shuffle.set_state(s);
            using (var a = ReadBytes(reader)) augment.set_state(a);
            using (var g = ReadBytes(reader)) set_rng_state(g);
            if (!reader.ReadBytes(EndMarker.Length).AsSpan().SequenceEqual(EndMarker) || stream.Position != stream.Length)
                throw new InvalidDataException("missing end marker");
            return header;
        }
        catch (Exception e) when (e is not InvalidDataException || !e.Message.StartsWith("Checkpoint '"))
        {
            throw new InvalidDataException($"Checkpoint '{path}' could not be loaded ({e.Message}); it is corrupt, truncated or " +
                                           "was written for a different model. Delete it or set Resume = false.", e);
        }
    }

    private static CheckpointHeader ReadHeader(BinaryReader reader, string path)
    {
        try
        {
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
                throw new InvalidDataException($"Checkpoint '{path}' is not a Lightweight.ML checkpoint.");
            int version = reader.ReadInt32();
            if (version != FormatVersion)
                throw new InvalidDataException($"Checkpoint '{path}' has format version {version}; this library reads version {FormatVersion}.");
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

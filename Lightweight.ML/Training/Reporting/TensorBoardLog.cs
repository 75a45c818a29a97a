using System.Buffers.Binary;
using System.Numerics;
using Google.Protobuf;
using TorchSharp.Modules;
using static TorchSharp.torch.utils;

namespace Lightweight.ML.Training.Reporting;

/// <summary>
/// Per-epoch scalars in TensorBoard event files, written by TorchSharp's <c>SummaryWriter</c> with the epoch as the step:
/// <c>loss/train</c>, <c>loss/val</c>, <c>accuracy/train</c>, <c>accuracy/val</c>, <c>accuracy/val_top5</c>, <c>lr</c>.
/// </summary>
internal sealed class TensorBoardLog
{
    private const string EventFilePrefix = "events.out.tfevents.";
    private readonly string _directory;
    private SummaryWriter? _writer;

    /// <summary>Logs to <paramref name="directory"/>; the event file is created at the first <see cref="Write"/>.</summary>
    public TensorBoardLog(string directory) => _directory = directory;

    /// <summary>Appends the scalars of one epoch (validation ones only when present).</summary>
    public void Write(EpochMetrics m)
    {
        try
        {
            _writer ??= tensorboard.SummaryWriter(_directory);
            void Add(string tag, double? value)
            {
                if (value is { } v) _writer.add_scalar(tag, (float)v, m.Epoch); // wall time: now, in Unix seconds
            }
            Add("loss/train", m.TrainLoss);
            Add("loss/val", m.ValidationLoss);
            Add("accuracy/train", m.TrainAccuracy);
            Add("accuracy/val", m.ValidationAccuracy);
            Add("accuracy/val_top5", m.ValidationTop5);
            Add("lr", m.LearningRate);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw ReportFiles.Named(e, _directory); }
    }

    /// <summary>
    /// Removes the scalars of epochs at or after <paramref name="epoch"/> from the event files already in the directory,
    /// so that a resumed run does not show two values per epoch. Each changed file is replaced atomically; a file that
    /// does not read as intact TF records is left as it is.
    /// </summary>
    public void DropEpochsFrom(int epoch)
    {
        if (!Directory.Exists(_directory)) return;
        foreach (var path in Directory.EnumerateFiles(_directory, EventFilePrefix + "*"))
        {
            List<byte[]>? records;
            try { records = ReadRecords(File.ReadAllBytes(path)); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw ReportFiles.Named(e, path); }
            if (records is null) continue;
            List<byte[]> kept;
            try { kept = records.Where(data => !IsScalarAtOrAfter(data, epoch)).ToList(); }
            catch (InvalidProtocolBufferException) { continue; }
            if (kept.Count == records.Count) continue;
            ReportFiles.WriteAtomically(path, stream =>
            {
                foreach (var data in kept) WriteRecord(stream, data);
            });
        }
    }

    /// <summary>The payloads of a TF record file (8-byte length, masked CRC-32C of the length, data, masked CRC-32C of the
    /// data), or null when it is truncated or a checksum does not match.</summary>
    internal static List<byte[]>? ReadRecords(ReadOnlySpan<byte> file)
    {
        var records = new List<byte[]>();
        while (file.Length > 0)
        {
            if (file.Length < 12 || BinaryPrimitives.ReadUInt32LittleEndian(file[8..]) != MaskedCrc32C(file[..8])) return null;
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(file);
            if (length > (ulong)(file.Length - 16)) return null;
            var data = file.Slice(12, (int)length);
            if (BinaryPrimitives.ReadUInt32LittleEndian(file[(12 + (int)length)..]) != MaskedCrc32C(data)) return null;
            records.Add(data.ToArray());
            file = file[(16 + (int)length)..];
        }
        return records;
    }

    /// <summary>TensorFlow's masked CRC-32C: the checksum rotated right by 15 bits plus 0xa282ead8.</summary>
    internal static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = uint.MaxValue;
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    private static bool IsScalarAtOrAfter(byte[] data, int epoch)
    {
        var e = Tensorboard.Event.Parser.ParseFrom(data);
        return e.WhatCase == Tensorboard.Event.WhatOneofCase.Summary && e.Step >= epoch;
    }

    private static void WriteRecord(Stream stream, byte[] data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc32C(header[..8]));
        stream.Write(header);
        stream.Write(data);
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc32C(data));
        stream.Write(footer);
    }
}

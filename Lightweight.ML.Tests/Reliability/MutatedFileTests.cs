using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Lightweight.ML.Models;
using Lightweight.ML.Tests.MLNet;
using Lightweight.ML.Training;
using Microsoft.ML;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Reliability;

/// <summary>
/// 1,000 seeded mutations of three valid files of a trained ShuffleNetV2 0.5× (2 classes): its safetensors weights, its
/// SavePipeline zip and its training checkpoint — bit flips, truncations, byte-range overwrites, inserted and deleted
/// bytes, forged length fields, JSON header edits and damaged zip entries. Every load must either succeed with the
/// original shapes or throw one of the documented exception types; never another exception, never a hang (each load has
/// a time limit), never more than 100 MB of managed allocation.
/// </summary>
[TestClass]
public sealed class MutatedFileTests
{
    private const int SafetensorsMutations = 400, PipelineMutations = 250, CheckpointMutations = 350;
    private static readonly TimeSpan LoadTimeLimit = TimeSpan.FromSeconds(20);
    private const long AllocationLimit = 100L << 20;

    private static byte[] _safetensors = null!, _pipeline = null!, _checkpoint = null!;
    private static string[] _shapes = null!;
    private static string _folder = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void TrainOnce(TestContext _)
    {
        _folder = TestData.NewTempFolder();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadImagesFromFolder(TestData.Subset("train", classes: 2, perClass: 4));
        var options = new ShuffleNetV2Options
        {
            ModelSize = ShuffleNetV2Size.X0_5, ImageSize = 16, Epochs = 1, BatchSize = 4, Seed = 5, OutputDirectory = Path.Combine(_folder, "run"),
        };
        var model = Pipelines.Build(ml, ml.MulticlassClassification.Trainers.ShuffleNetV2(options)).Fit(data);
        try
        {
            var classifier = ((IEnumerable<ITransformer>)model).OfType<ImageClassificationTransformer>().Single();
            _shapes = Shapes(classifier.Model);
            var weights = Path.Combine(_folder, "valid.safetensors");
            ModelWeights.Save(classifier.Model, weights);
            _safetensors = File.ReadAllBytes(weights);
            var pipeline = Path.Combine(_folder, "valid.zip");
            ml.Model.SavePipeline(model, data.Schema, pipeline);
            _pipeline = File.ReadAllBytes(pipeline);
            _checkpoint = File.ReadAllBytes(Path.Combine(options.OutputDirectory, "checkpoints", "last.ckpt"));
        }
        finally
        {
            Pipelines.Dispose(model);
        }
    }

    private static ShuffleNetV2 NewModel() => new(ShuffleNetV2Size.X0_5, 2, smallInput: true);

    private static string[] Shapes(ImageClassifierModel model)
        => model.state_dict().Select(kv => $"{kv.Key} {string.Join("x", kv.Value.shape)} {kv.Value.dtype}").ToArray();

    [TestMethod]
    public void MutatedSafetensorsLoadOrThrowInvalidDataOrWeightsMismatch()
    {
        using var model = NewModel();
        Run("safetensors", _safetensors, SafetensorsMutations, seed: 1, extraMutators: [ForgeSafetensorsHeaderLength, EditSafetensorsJson],
            path => ModelWeights.Load(model, path),
            () => CollectionAssert.AreEqual(_shapes, Shapes(model)),
            typeof(InvalidDataException), typeof(WeightsMismatchException));
    }

    [TestMethod]
    public void MutatedPipelineZipsLoadOrThrowInvalidData()
    {
        var ml = new MLContext(seed: 1);
        ITransformer? loaded = null;
        Run("pipeline", _pipeline, PipelineMutations, seed: 2, extraMutators: [DamageZipEntryData, ForgeZipCentralDirectory, RewriteZipEntry],
            path => loaded = ml.Model.LoadPipeline(path, out _),
            () =>
            {
                var classifier = ((IEnumerable<ITransformer>)loaded!).OfType<ImageClassificationTransformer>().Single();
                CollectionAssert.AreEqual(_shapes, Shapes(classifier.Model));
                Pipelines.Dispose(loaded!);
            },
            typeof(InvalidDataException));
    }

    [TestMethod]
    public void MutatedCheckpointsLoadOrThrowInvalidData()
    {
        using var model = NewModel();
        using var optimizer = ParameterGroups.CreateSgd(model, 0.01, 0.9, nesterov: true, weightDecay: 4e-5);
        using var shuffle = new Generator(1);
        using var augment = new Generator(2);
        var rng = get_rng_state();
        try
        {
            Run("checkpoint", _checkpoint, CheckpointMutations, seed: 3, extraMutators: [ForgeCheckpointHeaderLength, EditCheckpointJson],
                path => Checkpoint.Load(path, model, optimizer, shuffle, augment),
                () => CollectionAssert.AreEqual(_shapes, Shapes(model)),
                typeof(InvalidDataException));
        }
        finally
        {
            set_rng_state(rng);
            rng.Dispose();
        }
    }

    // ---- the harness ----

    private delegate (byte[] Bytes, string What) Mutator(byte[] valid, Random random);

    /// <summary>
    /// Applies <paramref name="count"/> mutations (generic ones and <paramref name="extraMutators"/>, chosen at random) to
    /// <paramref name="valid"/>, loads each, and checks the outcome.
    /// </summary>
    private void Run(string kind, byte[] valid, int count, int seed, Mutator[] extraMutators, Action<string> load, Action checkLoaded,
        params Type[] allowed)
    {
        Mutator[] mutators = [FlipBits, Truncate, Overwrite, DeleteRange, InsertBytes, .. extraMutators, .. extraMutators];
        var random = new Random(seed);
        var path = Path.Combine(_folder, $"mutated-{kind}" + kind switch { "safetensors" => ".safetensors", "pipeline" => ".zip", _ => ".ckpt" });
        var outcomes = new Dictionary<string, int>();
        var failures = new List<string>();
        long peakBefore = PeakWorkingSet();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            var (bytes, what) = mutators[random.Next(mutators.Length)](valid, random);
            File.WriteAllBytes(path, bytes);
            long allocated = GC.GetTotalAllocatedBytes(precise: true);
            var task = Task.Run(() => load(path));
            if (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(LoadTimeLimit))
            {
                failures.Add($"#{i} {what}: no result after {LoadTimeLimit.TotalSeconds} s");
                break; // the hung load still runs; the test has failed
            }
            allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
            var error = task.Exception?.InnerException;
            string outcome = error is null ? "loaded" : error.GetType().Name;
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            if (error is null)
            {
                try { checkLoaded(); }
                catch (Exception e) { failures.Add($"#{i} {what}: loaded with other shapes: {e.Message}"); }
            }
            else if (!allowed.Contains(error.GetType()))
                failures.Add($"#{i} {what}: {error}");
            if (allocated > AllocationLimit)
                failures.Add($"#{i} {what}: {allocated >> 20} MB allocated ({outcome})");
        }
        long peakGrowth = PeakWorkingSet() - peakBefore;
        var summary = $"{kind}: {count} mutations in {clock.Elapsed.TotalSeconds:F1} s: " +
                      string.Join(", ", outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Value} {o.Key}")) +
                      $"; peak working set +{peakGrowth >> 20} MB";
        TestContext.WriteLine(summary);
        Assert.IsEmpty(failures, summary + "\n" + string.Join("\n", failures.Take(10)));
        Assert.IsLessThan(1L << 30, peakGrowth, summary);
    }

    private static long PeakWorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }

    // ---- generic mutations ----

    private static (byte[], string) FlipBits(byte[] valid, Random random)
    {
        var bytes = (byte[])valid.Clone();
        int flips = random.Next(1, 9);
        var at = new List<int>();
        for (int k = 0; k < flips; k++)
        {
            int position = random.Next(bytes.Length);
            bytes[position] ^= (byte)(1 << random.Next(8));
            at.Add(position);
        }
        return (bytes, $"bit flips at {string.Join(", ", at)}");
    }

    private static (byte[], string) Truncate(byte[] valid, Random random)
    {
        int length = random.Next(4) == 0 ? random.Next(Math.Min(64, valid.Length)) : random.Next(valid.Length);
        return (valid[..length], $"truncated to {length} bytes");
    }

    private static (byte[], string) Overwrite(byte[] valid, Random random)
    {
        var bytes = (byte[])valid.Clone();
        int length = random.Next(2) == 0 ? random.Next(1, 17) : random.Next(1, 4097);
        int start = random.Next(Math.Max(1, bytes.Length - length));
        length = Math.Min(length, bytes.Length - start);
        int fill = random.Next(3);
        var range = bytes.AsSpan(start, length);
        if (fill == 0) random.NextBytes(range);
        else range.Fill(fill == 1 ? (byte)0 : (byte)0xFF);
        return (bytes, $"{length} bytes at {start} overwritten with {(fill == 0 ? "random bytes" : fill == 1 ? "zeros" : "0xFF")}");
    }

    private static (byte[], string) DeleteRange(byte[] valid, Random random)
    {
        int start = random.Next(valid.Length), length = Math.Min(random.Next(1, 65), valid.Length - start);
        return ([.. valid[..start], .. valid[(start + length)..]], $"{length} bytes at {start} deleted");
    }

    private static (byte[], string) InsertBytes(byte[] valid, Random random)
    {
        int start = random.Next(valid.Length + 1);
        var inserted = new byte[random.Next(1, 65)];
        random.NextBytes(inserted);
        return ([.. valid[..start], .. inserted, .. valid[start..]], $"{inserted.Length} random bytes inserted at {start}");
    }

    // ---- safetensors: the u64 header length and the JSON header ----

    private static readonly ulong[] ForgedLengths = [0, 1, 2, 7, ulong.MaxValue, 1UL << 63, 1UL << 40, 1UL << 31, (1UL << 31) - 1, 100_000_001];

    private static (byte[], string) ForgeSafetensorsHeaderLength(byte[] valid, Random random)
    {
        var bytes = (byte[])valid.Clone();
        ulong actual = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        ulong[] choices = [.. ForgedLengths, actual - 1, actual + 1, actual + 8, (ulong)bytes.Length, (ulong)bytes.Length - 8, (ulong)random.NextInt64()];
        ulong forged = choices[random.Next(choices.Length)];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, forged);
        return (bytes, $"header length forged to {forged}");
    }

    private static (byte[], string) EditSafetensorsJson(byte[] valid, Random random)
    {
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(valid);
        var json = Encoding.UTF8.GetString(valid, 8, headerLength);
        var (edited, what) = EditJson(json, random);
        var header = Encoding.UTF8.GetBytes(edited);
        var bytes = new byte[8 + header.Length + valid.Length - 8 - headerLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        valid.AsSpan(8 + headerLength).CopyTo(bytes.AsSpan(8 + header.Length));
        return (bytes, $"JSON header: {what}");
    }

    /// <summary>One textual edit of a JSON document: a digit changed, a number replaced by an extreme one, a dtype or name
    /// changed, a character deleted or a structural character inserted.</summary>
    private static (string, string) EditJson(string json, Random random)
    {
        string[] numbers = ["-1", "0", "99999999999999999999", "4611686018427387904", "1e300", "2147483648", "1.5", "null", "\"7\""];
        string[] words = ["\"F64\"", "\"I64\"", "\"U8\"", "\"BOOL\"", "\"XX\"", "\"\"", "[]", "{}", "\"__metadata__\""];
        switch (random.Next(5))
        {
            case 0:
            {
                var digits = Enumerable.Range(0, json.Length).Where(i => char.IsAsciiDigit(json[i])).ToArray();
                int at = digits[random.Next(digits.Length)];
                char digit = (char)('0' + random.Next(10));
                return (json[..at] + digit + json[(at + 1)..], $"digit at {at} set to {digit}");
            }
            case 1:
            {
                var runs = System.Text.RegularExpressions.Regex.Matches(json, "[0-9]+").ToArray();
                var run = runs[random.Next(runs.Length)];
                string number = numbers[random.Next(numbers.Length)];
                return (json[..run.Index] + number + json[(run.Index + run.Length)..], $"number at {run.Index} replaced by {number}");
            }
            case 2:
            {
                var strings = System.Text.RegularExpressions.Regex.Matches(json, "\"[^\"]*\"").ToArray();
                var s = strings[random.Next(strings.Length)];
                string word = words[random.Next(words.Length)];
                return (json[..s.Index] + word + json[(s.Index + s.Length)..], $"string {s.Value} replaced by {word}");
            }
            case 3:
            {
                int at = random.Next(json.Length);
                return (json.Remove(at, 1), $"character {json[at]} at {at} deleted");
            }
            default:
            {
                int at = random.Next(json.Length + 1);
                char c = "{}[],:\"\\"[random.Next(8)];
                return (json.Insert(at, c.ToString()), $"'{c}' inserted at {at}");
            }
        }
    }

    // ---- checkpoint: the int32 JSON length after the magic and version, and the JSON ----

    private static (byte[], string) ForgeCheckpointHeaderLength(byte[] valid, Random random)
    {
        var bytes = (byte[])valid.Clone();
        int[] choices = [0, -1, int.MinValue, int.MaxValue, 1 << 20, (1 << 20) + 1, bytes.Length, random.Next(), BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12)) + 1];
        int forged = choices[random.Next(choices.Length)];
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), forged);
        return (bytes, $"checkpoint header length forged to {forged}");
    }

    private static (byte[], string) EditCheckpointJson(byte[] valid, Random random)
    {
        int length = BinaryPrimitives.ReadInt32LittleEndian(valid.AsSpan(12));
        var (edited, what) = EditJson(Encoding.UTF8.GetString(valid, 16, length), random);
        var json = Encoding.UTF8.GetBytes(edited);
        var bytes = new byte[16 + json.Length + valid.Length - 16 - length];
        valid.AsSpan(0, 12).CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), json.Length);
        json.CopyTo(bytes, 16);
        valid.AsSpan(16 + length).CopyTo(bytes.AsSpan(16 + json.Length));
        return (bytes, $"checkpoint JSON: {what}");
    }

    // ---- zip: entry data, central directory fields, rewritten entries ----

    private static (byte[], string) DamageZipEntryData(byte[] valid, Random random)
    {
        var entries = ZipLayout.Read(valid);
        var entry = entries[random.Next(entries.Count)];
        var bytes = (byte[])valid.Clone();
        if (entry.CompressedSize == 0) return (bytes, $"entry {entry.Name} is empty: unchanged");
        int flips = random.Next(1, 5);
        for (int k = 0; k < flips; k++) bytes[entry.DataOffset + random.Next((int)entry.CompressedSize)] ^= (byte)(1 << random.Next(8));
        return (bytes, $"{flips} bit flip(s) in the data of entry {entry.Name}");
    }

    private static (byte[], string) ForgeZipCentralDirectory(byte[] valid, Random random)
    {
        var entries = ZipLayout.Read(valid);
        var entry = entries[random.Next(entries.Count)];
        var bytes = (byte[])valid.Clone();
        var (field, offset, size) = new[]
        {
            ("compression method", 10, 2), ("CRC-32", 16, 4), ("compressed size", 20, 4), ("uncompressed size", 24, 4),
            ("name length", 28, 2), ("local header offset", 42, 4),
        }[random.Next(6)];
        uint[] values = [0, 1, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF, (uint)random.Next(), (uint)valid.Length];
        uint value = values[random.Next(values.Length)];
        var span = bytes.AsSpan(entry.CentralOffset + offset, size);
        if (size == 2) BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)value);
        else BinaryPrimitives.WriteUInt32LittleEndian(span, value);
        return (bytes, $"central directory {field} of {entry.Name} set to {(size == 2 ? (ushort)value : value)}");
    }

    /// <summary>A zip whose entries are intact as zip entries (right CRCs) but one holds damaged content, is missing or renamed.</summary>
    private static (byte[], string) RewriteZipEntry(byte[] valid, Random random)
    {
        using var source = new System.IO.Compression.ZipArchive(new MemoryStream(valid));
        var names = source.Entries.Select(e => e.FullName).ToArray();
        string victim = names[random.Next(names.Length)];
        int action = random.Next(4);
        using var output = new MemoryStream();
        using (var target = new System.IO.Compression.ZipArchive(output, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
            foreach (var entry in source.Entries)
            {
                using var input = entry.Open();
                using var buffer = new MemoryStream();
                input.CopyTo(buffer);
                var content = buffer.ToArray();
                string name = entry.FullName;
                if (name == victim)
                {
                    if (action == 0) continue;
                    if (action == 1) name += ".renamed";
                    if (action == 2 && content.Length > 0) content = FlipBits(content, random).Item1;
                    if (action == 3) content = Truncate(content, random).Item1;
                }
                using var s = target.CreateEntry(name).Open();
                s.Write(content);
            }
        return (output.ToArray(), $"entry {victim} {(action switch { 0 => "dropped", 1 => "renamed", 2 => "content bit-flipped", _ => "content truncated" })}");
    }

    /// <summary>Where each entry of a (valid) zip lies: its central directory record and its data.</summary>
    private static class ZipLayout
    {
        public sealed record Entry(string Name, int CentralOffset, int DataOffset, long CompressedSize);

        public static List<Entry> Read(byte[] zip)
        {
            int end = zip.AsSpan().LastIndexOf((ReadOnlySpan<byte>)[(byte)'P', (byte)'K', 5, 6]);
            int count = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(end + 10));
            int at = (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(end + 16));
            var entries = new List<Entry>();
            for (int i = 0; i < count; i++)
            {
                var record = zip.AsSpan(at);
                int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(record[28..]);
                int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(record[30..]);
                int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(record[32..]);
                int local = (int)BinaryPrimitives.ReadUInt32LittleEndian(record[42..]);
                var localHeader = zip.AsSpan(local);
                int data = local + 30 + BinaryPrimitives.ReadUInt16LittleEndian(localHeader[26..]) + BinaryPrimitives.ReadUInt16LittleEndian(localHeader[28..]);
                entries.Add(new Entry(Encoding.UTF8.GetString(record.Slice(46, nameLength)), at, data, BinaryPrimitives.ReadUInt32LittleEndian(record[20..])));
                at += 46 + nameLength + extraLength + commentLength;
            }
            return entries;
        }
    }
}

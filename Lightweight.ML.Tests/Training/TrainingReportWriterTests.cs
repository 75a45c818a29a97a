using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;
using Lightweight.ML.Training.Reporting;
using SkiaSharp;
using TorchSharp;

namespace Lightweight.ML.Tests.Training;

[TestClass]
public sealed class TrainingReportWriterTests
{
    private static readonly string[] Classes = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
    private static readonly string[] ScalarTags = ["loss/train", "loss/val", "accuracy/train", "accuracy/val", "accuracy/val_top5", "lr"];

    private static EpochMetrics Metrics(int epoch, bool validation = true, double offset = 0) => new(
        epoch, Step: 40L * epoch, TrainLoss: 2.0 / epoch + offset, TrainAccuracy: (30 + 10 * epoch) / 100.0,
        ValidationLoss: validation ? 2.2 / epoch + offset : null, ValidationAccuracy: validation ? (25 + 10 * epoch) / 100.0 : null,
        ValidationTop5: validation ? (70 + 5 * epoch) / 100.0 : null, LearningRate: 0.1 / (1 << epoch), ImagesPerSecond: 812.5 + epoch,
        ElapsedSeconds: 12.25 * epoch);

    /// <summary>A plausible 10-class validation confusion matrix: mostly right, some neighbours confused.</summary>
    private static long[,] Confusion(int epoch)
    {
        var counts = new long[Classes.Length, Classes.Length];
        for (int t = 0; t < Classes.Length; t++)
        {
            counts[t, t] = 30 + 5 * epoch + t;
            counts[t, (t + 1) % Classes.Length] = 12 - epoch;
            counts[t, (t + 3) % Classes.Length] = t % 3;
        }
        return counts;
    }

    private static string WriteEpochs(int epochs, bool validation = true, string? directory = null)
    {
        directory ??= Path.Combine(TestData.NewTempFolder(), "report");
        using var writer = new TrainingReportWriter(directory, Classes);
        for (int epoch = 1; epoch <= epochs; epoch++) writer.Write(Metrics(epoch, validation), validation ? Confusion(epoch) : null);
        return directory;
    }

    private static string[] CsvLines(string directory)
    {
        var text = File.ReadAllText(Path.Combine(directory, "metrics.csv"));
        Assert.EndsWith("\n", text);
        return text.TrimEnd('\n').Split('\n');
    }

    private static double D(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static void AssertRow(EpochMetrics expected, string line)
    {
        var f = line.Split(',');
        Assert.HasCount(10, f, line);
        Assert.AreEqual(expected.Epoch.ToString(CultureInfo.InvariantCulture), f[0], line);
        Assert.AreEqual(expected.Step.ToString(CultureInfo.InvariantCulture), f[1], line);
        Assert.AreEqual(expected.TrainLoss, D(f[2]), line);
        Assert.AreEqual(expected.TrainAccuracy, D(f[3]), line);
        Assert.AreEqual(expected.ValidationLoss?.ToString("R", CultureInfo.InvariantCulture) ?? "", f[4], line);
        Assert.AreEqual(expected.ValidationAccuracy?.ToString("R", CultureInfo.InvariantCulture) ?? "", f[5], line);
        Assert.AreEqual(expected.ValidationTop5?.ToString("R", CultureInfo.InvariantCulture) ?? "", f[6], line);
        Assert.AreEqual(expected.LearningRate, D(f[7]), line);
        Assert.AreEqual(expected.ImagesPerSecond, D(f[8]), line);
        Assert.AreEqual(expected.ElapsedSeconds, D(f[9]), line);
    }

    [TestMethod]
    public void CsvHasTheHeaderAndOneInvariantRowPerEpoch()
    {
        var culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE"); // decimal comma: must not reach the file
        try
        {
            var lines = CsvLines(WriteEpochs(3));
            Assert.HasCount(4, lines);
            Assert.AreEqual("epoch,step,train_loss,train_acc,val_loss,val_acc,val_top5,lr,images_per_sec,elapsed_s", lines[0]);
            for (int epoch = 1; epoch <= 3; epoch++) AssertRow(Metrics(epoch), lines[epoch]);
            Assert.AreEqual("2,80,1,0.5,1.1,0.45,0.8,0.025,814.5,24.5", lines[2]);
        }
        finally { CultureInfo.CurrentCulture = culture; }
    }

    [TestMethod]
    public void WithoutValidationTheValidationColumnsAreEmptyAndThereIsNoConfusionPlot()
    {
        var directory = WriteEpochs(2, validation: false);
        var lines = CsvLines(directory);
        Assert.HasCount(3, lines);
        AssertRow(Metrics(2, validation: false), lines[2]);
        StringAssert.Contains(lines[2], ",,,");
        Assert.IsFalse(File.Exists(Path.Combine(directory, "confusion_matrix.png")));
        Assert.IsTrue(File.Exists(Path.Combine(directory, "loss.png")));
        var tags = EventScalars(directory).Select(s => s.Tag).ToHashSet();
        CollectionAssert.AreEquivalent(new[] { "loss/train", "accuracy/train", "lr" }, tags.ToArray());
    }

    [TestMethod]
    public void ResumingDropsTheEpochsFromTheResumedOneOnInCsvAndTensorBoard()
    {
        var directory = WriteEpochs(3);
        using (var resumed = new TrainingReportWriter(directory, Classes))
            resumed.Write(Metrics(2, offset: 0.5), Confusion(2));

        var lines = CsvLines(directory);
        Assert.HasCount(3, lines, string.Join("\n", lines));
        Assert.AreEqual(MetricsCsv.Header, lines[0]);
        AssertRow(Metrics(1), lines[1]);
        AssertRow(Metrics(2, offset: 0.5), lines[2]);

        var scalars = EventScalars(directory);
        var trainLoss = scalars.Where(s => s.Tag == "loss/train").OrderBy(s => s.Step).ToList();
        CollectionAssert.AreEqual(new long[] { 1, 2 }, trainLoss.Select(s => s.Step).ToArray(), "one value per epoch, none from epoch 3");
        Assert.AreEqual((float)Metrics(2, offset: 0.5).TrainLoss, trainLoss[1].Value);
        Assert.AreEqual((float)Metrics(1).TrainLoss, trainLoss[0].Value);
        Assert.IsFalse(Directory.EnumerateFiles(directory, "*.tmp", SearchOption.AllDirectories).Any(), "temporary files left");
    }

    [TestMethod]
    public void ATornLastCsvRowIsDroppedWhenResuming()
    {
        var directory = WriteEpochs(2);
        File.AppendAllText(Path.Combine(directory, "metrics.csv"), "3,120,0.6"); // crash in the middle of a row
        using (var writer = new TrainingReportWriter(directory, Classes)) writer.Write(Metrics(3), Confusion(3));
        var lines = CsvLines(directory);
        Assert.HasCount(4, lines, string.Join("\n", lines));
        AssertRow(Metrics(3), lines[3]);
    }

    [TestMethod]
    public void TemporaryFilesOfWritesCutByACrashAreDeletedWhenTheDirectoryIsReopened()
    {
        var directory = WriteEpochs(1);
        string Temp(string name) => Path.Combine(directory, $"{name}.{Guid.NewGuid():N}.tmp");
        string[] stale = [Temp("loss.png"), Temp("metrics.csv"), Path.Combine(directory, "tensorboard", $"events.out.tfevents.1.host.{Guid.NewGuid():N}.tmp")];
        string[] foreign = [Temp("notes.txt"), Path.Combine(directory, "loss.png.tmp")];
        foreach (var path in stale.Concat(foreign)) File.WriteAllText(path, "partial");
        using (new TrainingReportWriter(directory, Classes)) { }
        foreach (var path in stale) Assert.IsFalse(File.Exists(path), path);
        foreach (var path in foreign) Assert.IsTrue(File.Exists(path), $"{path} is not ours to delete");
    }

    [TestMethod]
    public void AForeignMetricsCsvIsNotOverwritten()
    {
        var directory = TestData.NewTempFolder();
        File.WriteAllText(Path.Combine(directory, "metrics.csv"), "name,value\nmine,1\n");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => new TrainingReportWriter(directory, Classes));
        StringAssert.Contains(e.Message, Path.Combine(directory, "metrics.csv"));
        Assert.AreEqual("name,value\nmine,1\n", File.ReadAllText(Path.Combine(directory, "metrics.csv")));
    }

    [TestMethod]
    public void AnUnusableDirectoryIsNamed()
    {
        var file = Path.Combine(TestData.NewTempFolder(), "not-a-folder");
        File.WriteAllText(file, "x");
        var directory = Path.Combine(file, "report");
        var e = Assert.Throws<IOException>(() => new TrainingReportWriter(directory, Classes));
        StringAssert.Contains(e.Message, directory);
    }

    [TestMethod]
    public void TensorBoardFileHoldsValidTfRecordsWithTheScalarTags()
    {
        var directory = WriteEpochs(3);
        var files = Directory.GetFiles(Path.Combine(directory, "tensorboard"), "events.out.tfevents.*");
        Assert.HasCount(1, files);
        var records = TfRecords(File.ReadAllBytes(files[0]));
        Assert.AreEqual(1 + 3 * ScalarTags.Length, records.Count, "file-version event + 6 scalars per epoch");
        var bytes = File.ReadAllBytes(files[0]);
        foreach (var tag in ScalarTags)
            Assert.IsGreaterThanOrEqualTo(0, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(tag)), tag);
        Assert.AreEqual("brain.Event:2", Tensorboard.Event.Parser.ParseFrom(records[0]).FileVersion);

        var scalars = EventScalars(directory);
        foreach (var tag in ScalarTags)
            CollectionAssert.AreEqual(new long[] { 1, 2, 3 }, scalars.Where(s => s.Tag == tag).Select(s => s.Step).ToArray(), tag);
        var m = Metrics(2);
        Assert.AreEqual((float)m.ValidationTop5!.Value, scalars.Single(s => s.Tag == "accuracy/val_top5" && s.Step == 2).Value);
        Assert.AreEqual((float)m.LearningRate, scalars.Single(s => s.Tag == "lr" && s.Step == 2).Value);
        double now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.IsTrue(scalars.All(s => Math.Abs(s.WallTime - now) < 3600), "wall times are Unix seconds of today");
    }

    [TestMethod]
    public void PlotsArePngsOfTheExpectedSize()
    {
        var directory = WriteEpochs(3);
        int side = TrainingPlots.ConfusionSide(Classes.Length);
        foreach (var (name, width, height) in new[]
                 {
                     ("loss.png", TrainingPlots.Width, TrainingPlots.Height), ("accuracy.png", TrainingPlots.Width, TrainingPlots.Height),
                     ("lr.png", TrainingPlots.Width, TrainingPlots.Height), ("confusion_matrix.png", side, side),
                 })
        {
            var bytes = File.ReadAllBytes(Path.Combine(directory, name));
            CollectionAssert.AreEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8], name);
            Assert.IsGreaterThan(8_000, bytes.Length, name);
            using var bitmap = SKBitmap.Decode(bytes);
            Assert.IsNotNull(bitmap, name);
            Assert.AreEqual((width, height), (bitmap.Width, bitmap.Height), name);
            Assert.IsTrue(DistinctColours(bitmap) > 20, $"{name} is nearly blank");
        }
        Assert.IsFalse(Directory.EnumerateFiles(directory, "*.tmp", SearchOption.AllDirectories).Any(), "temporary files left");
    }

    [TestMethod]
    public void ConfusionMatrixCountsBatchesAndPerClassAccuracy()
    {
        var counts = new long[3, 3];
        using (var truth = torch.tensor(new long[] { 0, 0, 1, 2, 2, 2 }))
        using (var predicted = torch.tensor(new long[] { 0, 1, 1, 2, 0, 2 }))
            ConfusionMatrix.Add(counts, truth, predicted);
        using (var truth = torch.tensor(new long[] { 1 }))
        using (var predicted = torch.tensor(new long[] { 2 }))
            ConfusionMatrix.Add(counts, truth, predicted);
        CollectionAssert.AreEqual(new long[,] { { 1, 1, 0 }, { 0, 1, 1 }, { 1, 0, 2 } }, counts);
        CollectionAssert.AreEqual(new[] { 0.5, 0.5, 2.0 / 3 }, ConfusionMatrix.PerClassAccuracy(counts));
        Assert.IsTrue(double.IsNaN(ConfusionMatrix.PerClassAccuracy(new long[2, 2])[0]));
    }

    [TestMethod]
    public void AConfusionMatrixOfTheWrongSizeIsRejected()
    {
        using var writer = new TrainingReportWriter(TestData.NewTempFolder(), Classes);
        Assert.ThrowsExactly<ArgumentException>(() => writer.Write(Metrics(1), new long[3, 3]));
    }

    private static int DistinctColours(SKBitmap bitmap)
    {
        var colours = new HashSet<uint>();
        for (int y = 0; y < bitmap.Height; y += 3)
        for (int x = 0; x < bitmap.Width; x += 3)
            colours.Add((uint)bitmap.GetPixel(x, y));
        return colours.Count;
    }

    /// <summary>Parses TF records independently of the library: 8-byte length, masked CRC-32C of it, data, masked CRC-32C.</summary>
    private static List<byte[]> TfRecords(byte[] file)
    {
        var records = new List<byte[]>();
        int at = 0;
        while (at < file.Length)
        {
            Assert.IsTrue(file.Length - at >= 16, $"truncated record at byte {at}");
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(at));
            Assert.IsTrue(length > 0 && length <= (ulong)(file.Length - at - 16), $"bad length {length} at byte {at}");
            Assert.AreEqual(MaskedCrc(file.AsSpan(at, 8)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8)), $"length CRC at {at}");
            var data = file.AsSpan(at + 12, (int)length);
            Assert.AreEqual(MaskedCrc(data), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 12 + (int)length)), $"data CRC at {at}");
            records.Add(data.ToArray());
            at += 16 + (int)length;
        }
        return records;
    }

    private static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        foreach (var b in data) crc = BitOperations.Crc32C(crc, b);
        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    private static List<(string Tag, long Step, float Value, double WallTime)> EventScalars(string directory)
        => Directory.GetFiles(Path.Combine(directory, "tensorboard"), "events.out.tfevents.*")
            .SelectMany(f => TfRecords(File.ReadAllBytes(f)))
            .Select(Tensorboard.Event.Parser.ParseFrom)
            .Where(e => e.Summary is not null)
            .SelectMany(e => e.Summary.Value.Select(v => (v.Tag, e.Step, v.SimpleValue, e.WallTime)))
            .ToList();
}

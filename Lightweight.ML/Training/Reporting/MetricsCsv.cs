using System.Globalization;
using System.Text;

namespace Lightweight.ML.Training.Reporting;

/// <summary>The <c>metrics.csv</c> file: one header line, then one row per epoch in invariant culture. Values round-trip;
/// validation columns are empty when there is no validation set.</summary>
internal static class MetricsCsv
{
    /// <summary>The header line (without its newline).</summary>
    public const string Header = "epoch,step,train_loss,train_acc,val_loss,val_acc,val_top5,lr,images_per_sec,elapsed_s";

    private static readonly int Columns = Header.Split(',').Length;
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>One row (without its newline).</summary>
    public static string Format(EpochMetrics m) => string.Join(',',
        m.Epoch.ToString(CultureInfo.InvariantCulture), m.Step.ToString(CultureInfo.InvariantCulture),
        F(m.TrainLoss), F(m.TrainAccuracy), F(m.ValidationLoss), F(m.ValidationAccuracy), F(m.ValidationTop5),
        F(m.LearningRate), F(m.ImagesPerSecond), F(m.ElapsedSeconds));

    /// <summary>The rows of an existing file (none when it does not exist or is empty). A last line without its newline
    /// that does not parse is a row torn by a crash and is skipped; <paramref name="needsRewrite"/> then says the file
    /// should be rewritten before appending.</summary>
    /// <exception cref="InvalidDataException">The file is not a metrics file or a complete row does not parse.</exception>
    public static List<EpochMetrics> Read(string path, out bool needsRewrite)
    {
        needsRewrite = false;
        var rows = new List<EpochMetrics>();
        if (!File.Exists(path)) return rows;
        string text;
        try { text = File.ReadAllText(path, Utf8); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw ReportFiles.Named(e, path); }
        if (text.Length == 0) return rows;

        var lines = text.Split('\n');
        bool complete = text.EndsWith('\n');
        int count = complete ? lines.Length - 1 : lines.Length;
        if (lines[0].TrimEnd('\r') != Header)
            throw new InvalidDataException($"'{path}' is not a metrics file written by Lightweight.ML (its first line is not " +
                                           $"'{Header}'). Move it away or choose another output directory.");
        for (int i = 1; i < count; i++)
        {
            string line = lines[i].TrimEnd('\r');
            bool last = i == count - 1;
            if (TryParse(line, out var row)) rows.Add(row);
            else if (last && !complete) { needsRewrite = true; break; }
            else throw new InvalidDataException($"'{path}' line {i + 1} is not a metrics row: '{line}'.");
            if (last && !complete) needsRewrite = true;
        }
        return rows;
    }

    /// <summary>Appends one row and flushes it to disk; writes the header first when the file is new or empty.</summary>
    public static void Append(string path, EpochMetrics m)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
            var text = (stream.Length == 0 ? Header + "\n" : "") + Format(m) + "\n";
            stream.Write(Utf8.GetBytes(text));
            stream.Flush(flushToDisk: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw ReportFiles.Named(e, path); }
    }

    /// <summary>Replaces the file atomically with the header and <paramref name="rows"/>.</summary>
    public static void Rewrite(string path, IEnumerable<EpochMetrics> rows)
    {
        var text = new StringBuilder(Header).Append('\n');
        foreach (var row in rows) text.Append(Format(row)).Append('\n');
        ReportFiles.WriteAtomically(path, stream => stream.Write(Utf8.GetBytes(text.ToString())));
    }

    private static bool TryParse(string line, out EpochMetrics row)
    {
        row = null!;
        var f = line.Split(',');
        if (f.Length != Columns
            || !int.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int epoch)
            || !long.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long step)
            || !TryDouble(f[2], out double trainLoss) || !TryDouble(f[3], out double trainAccuracy)
            || !TryNullable(f[4], out double? valLoss) || !TryNullable(f[5], out double? valAccuracy)
            || !TryNullable(f[6], out double? valTop5)
            || !TryDouble(f[7], out double lr) || !TryDouble(f[8], out double imagesPerSecond) || !TryDouble(f[9], out double elapsed))
            return false;
        row = new EpochMetrics(epoch, step, trainLoss, trainAccuracy, valLoss, valAccuracy, valTop5, lr, imagesPerSecond, elapsed);
        return true;
    }

    private static string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string F(double? value) => value is { } v ? F(v) : "";

    private static bool TryDouble(string s, out double value)
        => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    private static bool TryNullable(string s, out double? value)
    {
        value = null;
        if (s.Length == 0) return true;
        if (!TryDouble(s, out double v)) return false;
        value = v;
        return true;
    }
}

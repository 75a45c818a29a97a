using System.Globalization;
using System.Text.Json;
using Lightweight.ML.Native;

namespace Lightweight.ML.Bench.Speed;

/// <summary>
/// One measurement as one JSON line on stdout (bench/run_speed.py collects them); everything else goes to stderr.
/// Field names are shared with bench/pytorch/speed.py: <c>bench</c>, <c>side</c>, <c>impl</c>, <c>model</c>,
/// <c>image_size</c>, <c>batch</c>, <c>threads</c>, then the measured values.
/// </summary>
internal static class Report
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <summary>Writes the common fields of <paramref name="settings"/>, then <paramref name="values"/>, as one line.</summary>
    public static void Emit(string bench, string impl, BenchSettings settings, params (string Key, object? Value)[] values)
    {
        var line = new Dictionary<string, object?>
        {
            ["bench"] = bench,
            ["side"] = "ours",
            ["impl"] = impl,
            ["model"] = settings.Model,
            ["image_size"] = settings.ImageSize,
            ["batch"] = settings.BatchSize,
            ["threads"] = settings.Threads,
            ["small_stem"] = settings.SmallStem,
        };
        foreach (var (key, value) in values) line[key] = value is double d ? Math.Round(d, 4) : value;
        line["env"] = Environment();
        Console.Out.WriteLine(JsonSerializer.Serialize(line, Json));
        Console.Out.Flush();
    }

    /// <summary>What else decides the speed: allocator settings, runtime versions, core count.</summary>
    private static Dictionary<string, object?> Environment() => new()
    {
        ["malloc_tuned_by_library"] = TorchRuntime.MallocTuned,
        ["malloc_env"] = System.Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("MALLOC_", StringComparison.Ordinal) || k is "LIGHTWEIGHT_ML_NO_MALLOPT" or "LD_PRELOAD")
            .Order(StringComparer.Ordinal).ToDictionary(k => k, k => System.Environment.GetEnvironmentVariable(k)),
        ["torchsharp"] = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(),
        ["dotnet"] = System.Environment.Version.ToString(),
        ["cores"] = System.Environment.ProcessorCount,
    };

    /// <summary>Progress and notes for humans, on stderr so stdout stays JSON lines.</summary>
    public static void Note(string message) => Console.Error.WriteLine(message);

    public static string F(double value) => value.ToString("F1", CultureInfo.InvariantCulture);
}

/// <summary>Medians and percentiles (linear interpolation between closest ranks, as numpy's default).</summary>
internal static class Stats
{
    public static double Median(IEnumerable<double> values) => Percentile(values, 50);

    public static double Percentile(IEnumerable<double> values, double percent)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        double rank = percent / 100 * (sorted.Length - 1);
        int below = (int)Math.Floor(rank);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
    }
}

/// <summary>Resident memory of this process from /proc/self/status (Linux): current (VmRSS) and peak (VmHWM), in MiB.</summary>
internal static class Memory
{
    public static double RssMiB() => Read("VmRSS:");

    public static double PeakRssMiB() => Read("VmHWM:");

    private static double Read(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        return double.NaN;
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Lightweight.ML.Export;
using OxyPlot;
using OxyPlot.Annotations;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using OxyPlot.SkiaSharp;

namespace Lightweight.ML.Sweep;

/// <summary>
/// A sweep's results folder: <c>trials.json</c> (what a resumed sweep reads back), <c>trials.csv</c> and
/// <c>pareto.png</c>, each rewritten atomically after every trial, and <c>models/</c>.
/// </summary>
internal sealed class SweepLog
{
    public const string Format = "lightweight-ml-sweep";
    public const int Version = 1;
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly Dictionary<string, TrialResult> _byKey = new(StringComparer.Ordinal);
    private readonly List<(string Key, TrialResult Trial)> _trials = [];

    private SweepLog(string? directory) => Directory = directory;

    /// <summary>The results folder, or null when nothing is written.</summary>
    public string? Directory { get; }

    public IReadOnlyList<TrialResult> Trials => _trials.Select(t => t.Trial).OrderBy(t => t.Id).ToList();

    public int NextId => _trials.Count == 0 ? 1 : _trials.Max(t => t.Trial.Id) + 1;

    /// <summary>Path of the model file of trial <paramref name="id"/> (null without a folder).</summary>
    public string? ModelPath(int id) => Directory is null ? null : Path.Combine(Directory, "models", $"trial-{id}.zip");

    /// <summary>Opens <paramref name="directory"/> (creating it), reading the trials of an earlier run of the sweep.</summary>
    public static SweepLog Open(string? directory)
    {
        var log = new SweepLog(directory is null ? null : Path.GetFullPath(directory));
        if (log.Directory is null) return log;
        System.IO.Directory.CreateDirectory(log.Directory);
        string path = Path.Combine(log.Directory, "trials.json");
        if (!File.Exists(path)) return log;
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException("the file is not a JSON object");
            if ((string?)root["format"] != Format)
                throw new InvalidDataException($"its format is not '{Format}'");
            if ((int?)root["version"] is not { } version || version > Version)
                throw new InvalidDataException($"its version {root["version"]} is not supported (this library writes {Version})");
            foreach (var node in root["trials"]?.AsArray() ?? throw new InvalidDataException("it has no trials array"))
            {
                string key = (string?)node?["key"] ?? throw new InvalidDataException("a trial has no key");
                var trial = node!["result"].Deserialize<TrialResult>(Json) ?? throw new InvalidDataException("a trial has no result");
                log.Add(key, trial);
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or InvalidCastException)
        {
            throw new InvalidDataException($"Sweep results file '{path}' is damaged ({e.Message}); move it away to start the sweep afresh.", e);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith("Sweep results file", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Sweep results file '{path}' is damaged ({e.Message}); move it away to start the sweep afresh.", e);
        }
        return log;
    }

    public bool TryGet(string key, out TrialResult trial) => _byKey.TryGetValue(key, out trial!);

    /// <summary>Records a finished trial and rewrites the folder's files.</summary>
    public void Record(string key, TrialResult trial, IReadOnlyCollection<TrialResult> front)
    {
        Add(key, trial);
        if (Directory is null) return;
        var root = new JsonObject
        {
            ["format"] = Format, ["version"] = Version,
            ["trials"] = new JsonArray(_trials.OrderBy(t => t.Trial.Id)
                .Select(t => (JsonNode)new JsonObject { ["key"] = t.Key, ["result"] = JsonSerializer.SerializeToNode(t.Trial, Json) })
                .ToArray()),
        };
        AtomicFile.Write(Path.Combine(Directory, "trials.json"), s => s.Write(Encoding.UTF8.GetBytes(root.ToJsonString(Json))));
        AtomicFile.Write(Path.Combine(Directory, "trials.csv"), s => s.Write(Encoding.UTF8.GetBytes(Csv(Trials, front))));
        WritePlot(Path.Combine(Directory, "pareto.png"), Trials, front);
    }

    private void Add(string key, TrialResult trial)
    {
        if (_byKey.ContainsKey(key)) _trials.RemoveAll(t => t.Key == key);
        _byKey[key] = trial;
        _trials.Add((key, trial));
    }

    /// <summary>One row per trial; <c>pareto</c> marks the front.</summary>
    public static string Csv(IEnumerable<TrialResult> trials, IReadOnlyCollection<TrialResult> front)
    {
        var csv = new StringBuilder("id,model,learning_rate,label_smoothing,epochs,rung,status,val_top1,val_top5,val_loss,best_epoch," +
                                    "parameters,mflops,latency_ms,batch_ms_per_image,train_s,pareto,error\n");
        foreach (var t in trials)
        {
            csv.AppendJoin(',', [
                I(t.Id), t.Settings.Model, I(t.LearningRate), I(t.Settings.LabelSmoothing), I(t.Settings.Epochs), I(t.Settings.Rung),
                t.Status.ToString(), I(t.ValidationAccuracy), I(t.ValidationTop5), I(t.ValidationLoss), I(t.BestEpoch),
                I(t.Parameters), I(t.MFlops), I(t.SingleImageMilliseconds), I(t.BatchMillisecondsPerImage), I(t.TrainingSeconds),
                front.Contains(t) ? "1" : "0", Quote(t.Error),
            ]);
            csv.Append('\n');
        }
        return csv.ToString();
    }

    /// <summary>Validation accuracy against single-image latency, every completed trial a point, the front a line.</summary>
    public static void WritePlot(string path, IReadOnlyList<TrialResult> trials, IReadOnlyCollection<TrialResult> front)
    {
        var model = new PlotModel { Title = "Sweep: validation accuracy vs latency", Background = OxyColors.White };
        model.Legends.Add(new Legend { LegendPlacement = LegendPlacement.Outside, LegendPosition = LegendPosition.TopCenter, LegendOrientation = LegendOrientation.Horizontal });
        model.Axes.Add(new LogarithmicAxis { Position = AxisPosition.Bottom, Title = "single-image latency (ms, log scale)", MajorGridlineStyle = LineStyle.Dot });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "validation top-1 (%)", MajorGridlineStyle = LineStyle.Dot });
        var done = trials.Where(t => t.Status == TrialStatus.Completed).ToList();
        var points = new ScatterSeries { Title = "trials", MarkerType = MarkerType.Circle, MarkerSize = 4, MarkerFill = OxyColors.SteelBlue };
        foreach (var t in done)
        {
            points.Points.Add(new ScatterPoint(t.SingleImageMilliseconds, 100 * t.ValidationAccuracy));
            model.Annotations.Add(new TextAnnotation
            {
                Text = $"{t.Settings.Model} ({t.Settings.Epochs} ep)", TextPosition = new DataPoint(t.SingleImageMilliseconds, 100 * t.ValidationAccuracy),
                FontSize = 9, Stroke = OxyColors.Transparent, TextVerticalAlignment = VerticalAlignment.Bottom,
            });
        }
        model.Series.Add(points);
        var line = new LineSeries { Title = "Pareto front", Color = OxyColors.OrangeRed, StrokeThickness = 2, MarkerType = MarkerType.Diamond, MarkerSize = 5 };
        foreach (var t in front.OrderBy(t => t.SingleImageMilliseconds))
            line.Points.Add(new DataPoint(t.SingleImageMilliseconds, 100 * t.ValidationAccuracy));
        model.Series.Add(line);
        var exporter = new PngExporter { Width = 1000, Height = 650, UseTextShaping = false };
        AtomicFile.Write(path, stream => exporter.Export(model, stream));
    }

    private static string I(double? value) => value is { } v ? v.ToString("G6", CultureInfo.InvariantCulture) : "";

    private static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Quote(string? text)
        => text is null ? "" : "\"" + text.Replace("\"", "\"\"").Replace('\n', ' ').Replace('\r', ' ') + "\"";
}

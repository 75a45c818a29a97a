// Speed benchmarks of issue 6, our side: each subcommand prints one JSON line per measurement on stdout (notes go to
// stderr). bench/pytorch/speed.py has the same subcommands and fields for PyTorch; bench/run_speed.py runs both pairwise.
//   dotnet bench/Speed/bin/Release/net10.0/Speed.dll fit --data DIR --model shufflenetv2-0.5x --image-size 32 --threads 2
// Subcommands: fit (pipeline training throughput from a PNG folder), raw (training step on tensors), score (Transform and
// raw batched forward; --engine picks the fitted model's ScoringEngine), onnx (exported model in ONNX Runtime), latency
// (PredictionEngine and raw batch-1 forward),
// memory (RSS per epoch over a longer fit). Timings: plain Stopwatch, warm-up first, median of --repeats.
using System.CommandLine;
using Lightweight.ML;
using Lightweight.ML.Bench.Speed;

var root = new RootCommand("Lightweight.ML speed benchmarks (one JSON line per measurement on stdout)");
root.Subcommands.Add(Command("fit", "Training throughput through the ML.NET pipeline from the PNG folder DIR/train", needsData: true,
    (s, p) => FitBench.Fit(s, p.Epochs), epochs: 3));
root.Subcommands.Add(Command("raw", "Training step on tensors made in advance (same model, batch, optimizer)", needsData: false,
    (s, p) => RawBench.TrainStep(s, p.Steps), steps: 20));
root.Subcommands.Add(Command("score", "Batch scoring of DIR/test through Transform, and the raw batched forward", needsData: true,
    (s, p) => ScoringBench.Score(s, p.Steps, p.Engine), steps: 10, engine: true));
root.Subcommands.Add(Command("onnx", "The exported ONNX model in ONNX Runtime: batched throughput and batch-1 latency", needsData: false,
    (s, p) => OnnxBench.Run(s, p.Steps, p.Count, p.Keep), steps: 10, count: 200, keep: true));
root.Subcommands.Add(Command("latency", "Single-image latency through a PredictionEngine (DIR/test files), and the raw batch-1 forward", needsData: true,
    (s, p) => ScoringBench.Latency(s, p.Count, p.Engine), count: 200, engine: true));
root.Subcommands.Add(Command("memory", "Resident memory after every epoch of a fit from DIR/train, and the peak", needsData: true,
    (s, p) => FitBench.MemoryOverEpochs(s, p.Epochs), epochs: 10));
return root.Parse(args).Invoke();

// One subcommand with the shared options and the counts it uses (epochs, steps, count; the ONNX file to keep).
static Command Command(string name, string description, bool needsData, Action<BenchSettings, Counts> run,
    int epochs = 0, int steps = 0, int count = 0, bool keep = false, bool engine = false)
{
    var model = new Option<string>("--model") { Description = ModelNames.Syntax, DefaultValueFactory = _ => "shufflenetv2-0.5x" };
    var imageSize = new Option<int>("--image-size") { Description = "Network input side in pixels", DefaultValueFactory = _ => 32 };
    var batch = new Option<int>("--batch-size") { Description = "Images per step / forward", DefaultValueFactory = _ => 64 };
    var threads = new Option<int>("--threads") { Description = "libtorch (or ONNX Runtime) intra-op threads", DefaultValueFactory = _ => 2 };
    var stem = new Option<string>("--stem") { Description = "auto (small-input stem at <= 64 px, the default), small or imagenet", DefaultValueFactory = _ => "auto" };
    var repeats = new Option<int>("--repeats") { Description = "Timed repetitions (median reported)", DefaultValueFactory = _ => name == "fit" ? 1 : 3 };
    var warmup = new Option<int>("--warmup") { Description = "Untimed steps/forwards/predictions first (fit: > 0 = one warm-up epoch on 2 batches)", DefaultValueFactory = _ => 3 };
    var classes = new Option<int>("--classes") { Description = "Classifier outputs (subcommands without data)", DefaultValueFactory = _ => 10 };
    var data = new Option<DirectoryInfo?>("--data") { Description = "Image folder root with train/ and test/ class folders", Required = needsData };
    var command = new Command(name, description) { model, imageSize, batch, threads, stem, repeats, warmup };
    if (needsData) command.Options.Add(data);
    else command.Options.Add(classes);
    var epochsOption = new Option<int>("--epochs") { DefaultValueFactory = _ => epochs };
    var stepsOption = new Option<int>("--steps") { Description = "Timed steps/forwards per repeat", DefaultValueFactory = _ => steps };
    var countOption = new Option<int>("--count") { Description = "Timed single-image calls", DefaultValueFactory = _ => count };
    var keepOption = new Option<FileInfo?>("--keep") { Description = "Write the exported ONNX model here and keep it" };
    var engineOption = new Option<ScoringEngine>("--engine") { Description = "Scoring engine of the fitted model: Auto (the library's default), TorchSharp or OnnxRuntime", DefaultValueFactory = _ => ScoringEngine.Auto };
    if (epochs > 0) command.Options.Add(epochsOption);
    if (steps > 0) command.Options.Add(stepsOption);
    if (count > 0) command.Options.Add(countOption);
    if (keep) command.Options.Add(keepOption);
    if (engine) command.Options.Add(engineOption);
    command.SetAction(parse =>
    {
        var settings = new BenchSettings(parse.GetValue(model)!, parse.GetValue(imageSize), parse.GetValue(batch), parse.GetValue(threads),
            parse.GetValue(stem)!, needsData ? parse.GetValue(data)!.FullName : null, parse.GetValue(repeats), parse.GetValue(warmup),
            needsData ? 10 : parse.GetValue(classes));
        foreach (var (option, value) in new[] { ("--batch-size", settings.BatchSize), ("--threads", settings.Threads), ("--repeats", settings.Repeats) })
            if (value < 1) throw new ArgumentOutOfRangeException(option, value, $"{option} must be at least 1.");
        run(settings, new Counts(parse.GetValue(epochsOption), parse.GetValue(stepsOption), parse.GetValue(countOption),
            parse.GetValue(keepOption)?.FullName, parse.GetValue(engineOption)));
    });
    return command;
}

internal sealed record Counts(int Epochs, int Steps, int Count, string? Keep, ScoringEngine Engine);

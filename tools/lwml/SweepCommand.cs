using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using Spectre.Console;

namespace Lightweight.ML.Cli;

/// <summary>
/// <c>lwml sweep --data &lt;folder&gt; --budget 20m</c>: tries several architectures and sizes under a time budget and
/// reports accuracy against latency; rerunning with the same <c>--out</c> resumes.
/// </summary>
internal static class SweepCommand
{
    public static Command Create(CliContext cli)
    {
        var data = CliShared.DataOption("Training images: one subfolder per class (a stratified part is held out to rank the trials)");
        var budget = new Option<string>("--budget", "-b") { Description = "Wall-clock budget, e.g. 20m, 90s, 1h30m", DefaultValueFactory = _ => "20m" };
        var models = new Option<string[]>("--models")
        {
            Description = $"Models to try (default: {string.Join(' ', ModelNames.Standard)})", AllowMultipleArgumentsPerToken = true,
        };
        var epochs = new Option<int>("--epochs", "-e") { Description = "Epochs of a fully trained trial", DefaultValueFactory = _ => 10 };
        var minEpochs = new Option<int?>("--min-epochs") { Description = "Epochs of the first successive-halving rung (default: epochs / 4)" };
        var lrs = new Option<double[]>("--lr") { Description = "Peak learning rates to try (default: the trainer's)", AllowMultipleArgumentsPerToken = true };
        var smoothing = new Option<double[]>("--label-smoothing") { Description = "Label smoothing values to try (default: 0.1)", AllowMultipleArgumentsPerToken = true };
        var maxLatency = new Option<double?>("--max-latency-ms") { Description = "Only models whose single-image latency is at most this" };
        var maxParameters = new Option<long?>("--max-params") { Description = "Only models with at most this many parameters" };
        var validation = new Option<double>("--validation-fraction") { Description = "Share of the images held out to rank trials", DefaultValueFactory = _ => 0.2 };
        var imageSize = CliShared.ImageSizeOption();
        var batchSize = CliShared.BatchSizeOption();
        var grayscale = CliShared.GrayscaleOption();
        var threads = CliShared.ThreadsOption();
        var output = new Option<DirectoryInfo>("--out", "-o")
        {
            Description = "Folder for trials.csv/json, pareto.png, the trials' models and best-model.zip; rerun to resume",
            DefaultValueFactory = _ => new DirectoryInfo("sweep"),
        };
        var command = new Command("sweep", "Compare architectures and sizes under a time budget: accuracy vs latency, Pareto front, best model")
        {
            data, budget, models, epochs, minEpochs, lrs, smoothing, maxLatency, maxParameters, validation, imageSize, batchSize, grayscale, threads, output,
        };
        command.SetAction(parse =>
        {
            var names = parse.GetValue(models) is { Length: > 0 } given ? given : ModelNames.Standard.ToArray();
            foreach (var name in names) CliShared.CreateOptions(name, "--models");
            int size = parse.GetValue(imageSize), batch = parse.GetValue(batchSize);
            bool gray = parse.GetValue(grayscale);
            int? threadCount = parse.GetValue(threads);
            var settings = new ImageClassificationExperimentSettings
            {
                Models = names,
                Epochs = parse.GetValue(epochs),
                MinEpochs = parse.GetValue(minEpochs),
                LearningRates = parse.GetValue(lrs) is { Length: > 0 } rates ? rates.Select(r => (double?)r).ToArray() : [null],
                LabelSmoothings = parse.GetValue(smoothing) is { Length: > 0 } values ? values : [0.1],
                MaxExperimentTime = CliShared.ParseDuration(parse.GetValue(budget)!, "--budget"),
                ValidationFraction = parse.GetValue(validation),
                OutputDirectory = parse.GetValue(output)!.FullName,
                CancellationToken = cli.Cancellation,
                ConfigureTrainer = o =>
                {
                    o.ImageSize = size;
                    o.BatchSize = batch;
                    o.InputChannels = gray ? 1 : 3;
                    o.NumberOfThreads = threadCount;
                    o.WarmupEpochs = o.Epochs > 1 ? 1 : 0;
                    o.Augmentation = new AugmentationOptions { CropScale = (0.6, 1.0), CropRatio = (0.9, 1.1), HorizontalFlipProbability = 0.5 };
                },
            };
            if (parse.GetValue(maxLatency) is { } ms) (settings.Objective, settings.MaxLatencyMilliseconds) = (SweepObjective.AccuracyUnderLatency, ms);
            else if (parse.GetValue(maxParameters) is { } p) (settings.Objective, settings.MaxParameters) = (SweepObjective.AccuracyUnderSize, p);
            try
            {
                settings.Validate();
                var probe = ModelNames.CreateOptions(names[0]);
                settings.ConfigureTrainer(probe);
                TrainCommand.Validate(probe);
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message.Split(" (Parameter")[0]);
            }

            var ml = new MLContext(seed: 1);
            var images = CliShared.LoadImageFolder(ml, parse.GetValue(data)!);
            var prepared = ml.Transforms.Conversion.MapValueToKey("Label")
                .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
                .Fit(images).Transform(images);
            settings.Progress = new CliShared.Reporter<SweepProgress>(p => cli.Output.WriteLine(Describe(p)));
            cli.Output.WriteLine($"Sweeping {names.Length} model(s) on {images.GetRowCount()} images for at most {settings.MaxExperimentTime}; results in {settings.OutputDirectory}");
            var result = ml.LightweightAuto().CreateImageClassificationExperiment(settings).Execute(prepared);
            using var bestModel = result.BestModel as IDisposable;

            var table = new Table().AddColumns("id", "model", "lr", "epochs", "val top-1", "params", "MFLOPs", "latency ms", "batch ms/img", "train s", "front");
            foreach (var t in result.Trials)
                table.AddRow(t.Id.ToString(CultureInfo.InvariantCulture), t.Settings.Model, t.LearningRate.ToString("G3", CultureInfo.InvariantCulture),
                    t.Settings.Epochs.ToString(CultureInfo.InvariantCulture),
                    t.Status == TrialStatus.Completed ? t.ValidationAccuracy.ToString("P2", CultureInfo.InvariantCulture) : t.Status.ToString(),
                    t.Parameters.ToString("N0", CultureInfo.InvariantCulture), t.MFlops.ToString("F1", CultureInfo.InvariantCulture),
                    t.SingleImageMilliseconds.ToString("F2", CultureInfo.InvariantCulture), t.BatchMillisecondsPerImage.ToString("F2", CultureInfo.InvariantCulture),
                    t.TrainingSeconds.ToString("F0", CultureInfo.InvariantCulture), result.ParetoFront.Contains(t) ? "*" : "");
            cli.Console.Write(table);
            if (result.ExcludedModels.Count > 0)
                cli.Output.WriteLine($"Not trained (over the latency/size budget): {string.Join(", ", result.ExcludedModels)}");
            if (result.BudgetExhausted) cli.Output.WriteLine("The budget ran out before every planned trial ran; rerun with the same --out and a budget to continue.");
            if (result.BestTrial is not { } best)
            {
                cli.Error.WriteLine("lwml: no trial completed within the budget and constraints.");
                return ExitCodes.Failed;
            }
            var classifier = (result.BestModel as IEnumerable<ITransformer> ?? [result.BestModel!]).OfType<ImageClassificationTransformer>().LastOrDefault()
                             ?? throw new FileNotFoundException($"the best trial's model file '{best.ModelPath}' is missing; move the --out folder away to sweep afresh.");
            var bestPath = Path.Combine(settings.OutputDirectory, "best-model.zip");
            CliShared.SaveModel(ml, classifier, bestPath);
            cli.Output.WriteLine($"Best: trial {best.Id}, {best.Settings.Model}, {best.Settings.Epochs} epochs, validation accuracy {best.ValidationAccuracy:P2}, " +
                                 $"{best.SingleImageMilliseconds:F2} ms per image. Saved {bestPath}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Describe(SweepProgress p) => p switch
    {
        { Result: { Status: TrialStatus.Completed } r } => $"trial {p.TrialId} {p.Trial.Model} ({p.Trial.Epochs} ep): validation {r.ValidationAccuracy:P2} in {r.TrainingSeconds:F0} s",
        { Result: { } r } => $"trial {p.TrialId} {p.Trial.Model} ({p.Trial.Epochs} ep): {r.Status}: {r.Error}",
        { Epoch: { } e } => $"  trial {p.TrialId} {e}",
        _ => $"trial {p.TrialId} {p.Trial.Model}: {p.Trial.Epochs} epoch(s), lr {p.Trial.LearningRate?.ToString(CultureInfo.InvariantCulture) ?? "default"}, label smoothing {p.Trial.LabelSmoothing}",
    };
}

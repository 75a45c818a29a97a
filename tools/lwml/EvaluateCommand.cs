using System.CommandLine;
using Lightweight.ML.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Spectre.Console;

namespace Lightweight.ML.Cli;

/// <summary><c>lwml evaluate &lt;model&gt; --data &lt;folder&gt;</c>: accuracy, log-loss, per-class metrics and the confusion matrix.</summary>
internal static class EvaluateCommand
{
    private sealed class KeyRow
    {
        public string Label { get; set; } = "";
    }

    public static Command Create(CliContext cli)
    {
        var modelFile = new Argument<FileInfo>("model") { Description = "Model file written by 'lwml train' or 'lwml sweep'" };
        var data = CliShared.DataOption("Labelled images: one subfolder per class, named as the model's classes");
        var top = new Option<int>("--top-k") { Description = "Also report top-k accuracy", DefaultValueFactory = _ => 5 };
        var command = new Command("evaluate", "Measure a saved model on a labelled image folder") { modelFile, data, top };
        command.SetAction(parse =>
        {
            int k = parse.GetValue(top);
            if (k < 1) throw new UsageException("--top-k: must be at least 1.");
            var ml = new MLContext(seed: 1);
            var images = CliShared.LoadImageFolder(ml, parse.GetValue(data)!);
            var (pipeline, classifier) = CliShared.LoadModel(ml, parse.GetValue(modelFile)!);
            using var _ = classifier;
            var classes = classifier.ClassNames;
            var unknown = images.GetColumn<string>("Label").Distinct().Except(classes).ToList();
            if (unknown.Count > 0)
                throw new InvalidDataException($"class folder(s) {string.Join(", ", unknown.Select(u => $"'{u}'"))} of --data are not classes of the model " +
                                               $"({string.Join(", ", classes)}).");
            // Keys in the model's class order, so the label keys line up with Score and PredictedLabel.
            var keys = ml.Data.LoadFromEnumerable(classes.Select(c => new KeyRow { Label = c }));
            var labelled = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keys).Fit(images).Transform(images);
            var metrics = ml.MulticlassClassification.Evaluate(pipeline.Transform(labelled), "Label", "Score", "PredictedLabel",
                topKPredictionCount: Math.Min(k, classes.Count));

            var summary = new Table().AddColumns("metric", "value");
            summary.AddRow("images", images.GetRowCount()?.ToString() ?? "?");
            summary.AddRow("accuracy (micro)", $"{metrics.MicroAccuracy:P2}");
            summary.AddRow("accuracy (macro)", $"{metrics.MacroAccuracy:P2}");
            summary.AddRow($"top-{Math.Min(k, classes.Count)} accuracy", $"{metrics.TopKAccuracy:P2}");
            summary.AddRow("log-loss", $"{metrics.LogLoss:F4}");
            cli.Console.Write(summary);
            var perClass = new Table().AddColumns("class", "precision", "recall");
            for (int c = 0; c < classes.Count; c++)
                perClass.AddRow(Markup.Escape(classes[c]), $"{metrics.ConfusionMatrix.PerClassPrecision[c]:P1}", $"{metrics.ConfusionMatrix.PerClassRecall[c]:P1}");
            cli.Console.Write(perClass);
            cli.Output.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());
            return ExitCodes.Ok;
        });
        return command;
    }
}

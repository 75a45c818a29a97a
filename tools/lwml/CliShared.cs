using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Lightweight.ML.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Spectre.Console;

namespace Lightweight.ML.Cli;

/// <summary>Options, checks and model-file handling shared by the commands.</summary>
internal static partial class CliShared
{
    /// <summary>The input of a saved <c>lwml</c> model: one image path per row.</summary>
    public sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    public static Option<string> ModelOption() => new("--model", "-m")
    {
        Description = $"Architecture and size: {ModelNames.Syntax}", DefaultValueFactory = _ => "shufflenetv2-0.5x",
    };

    public static Option<int> ImageSizeOption() => new("--image-size")
    {
        Description = "Side of the square network input in pixels (≤ 64 selects the small-input stem)", DefaultValueFactory = _ => 224,
    };

    public static Option<int> BatchSizeOption() => new("--batch-size") { Description = "Images per training step", DefaultValueFactory = _ => 64 };

    public static Option<DirectoryInfo> DataOption(string description) => new("--data", "-d") { Description = description, Required = true };

    public static Option<bool> GrayscaleOption() => new("--grayscale") { Description = "Train on one (luma) channel instead of RGB" };

    public static Option<int?> ThreadsOption() => new("--threads") { Description = "libtorch threads (default: one per core)" };

    /// <summary>The trainer options for <paramref name="name"/>; a bad name is a usage error naming <c>--model</c>.</summary>
    public static ImageClassificationTrainerOptions CreateOptions(string name, string option = "--model")
    {
        try
        {
            return ModelNames.CreateOptions(name);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{option}: {e.Message.Replace(" (Parameter 'name')", "")}");
        }
    }

    /// <summary>A folder of class subfolders as rows of <c>ImagePath</c>, <c>Label</c>; a missing folder is a usage error.</summary>
    public static IDataView LoadImageFolder(MLContext ml, DirectoryInfo folder, string option = "--data")
    {
        if (!folder.Exists) throw new UsageException($"{option}: folder '{folder.FullName}' does not exist.");
        return ml.Data.LoadImagesFromFolder(folder.FullName);
    }

    /// <summary>Reads a model written by <c>lwml train</c> or <c>lwml sweep</c> and finds its classifier.</summary>
    public static (ITransformer Pipeline, ImageClassificationTransformer Classifier) LoadModel(MLContext ml, FileInfo file)
    {
        if (!file.Exists) throw new UsageException($"model file '{file.FullName}' does not exist.");
        var pipeline = ml.Model.LoadPipeline(file.FullName, out _);
        var classifier = (pipeline as IEnumerable<ITransformer> ?? [pipeline]).OfType<ImageClassificationTransformer>().LastOrDefault()
                         ?? throw new InvalidDataException($"'{file.FullName}' holds no Lightweight.ML image classifier.");
        if (pipeline is not IEnumerable<ITransformer> steps || !steps.Any(t => t is Microsoft.ML.Data.ImageLoadingTransformer))
            pipeline = new TransformerChain<ITransformer>(LoadImages(ml, classifier), classifier); // a bare classifier: add the image loader
        return (pipeline, classifier);
    }

    /// <summary>Writes the scoring pipeline (image loader + classifier) that <c>predict</c>, <c>evaluate</c> and <c>export</c> read.</summary>
    public static void SaveModel(MLContext ml, ImageClassificationTransformer classifier, string path)
    {
        var scoring = new TransformerChain<ITransformer>(LoadImages(ml, classifier), classifier);
        ml.Model.SavePipeline(scoring, ml.Data.LoadFromEnumerable(Array.Empty<PathRow>()).Schema, path);
    }

    /// <summary><c>LoadImages</c> from the <c>ImagePath</c> column into the classifier's image column.</summary>
    public static ITransformer LoadImages(MLContext ml, ImageClassificationTransformer classifier)
        => ml.Transforms.LoadImages(classifier.ImageColumnName, imageFolder: null, inputColumnName: "ImagePath")
            .Fit(ml.Data.LoadFromEnumerable(Array.Empty<PathRow>()));

    /// <summary>Epoch lines, or a live progress bar on a terminal, while <paramref name="fit"/> trains.</summary>
    public static T WithProgress<T>(CliContext cli, string title, int epochs, Func<IProgress<TrainingProgress>, T> fit)
    {
        if (!cli.Interactive)
        {
            cli.Output.WriteLine(title);
            return fit(new Reporter<TrainingProgress>(p => cli.Output.WriteLine($"  {p}")));
        }
        T result = default!;
        cli.Console.Progress()
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                cli.Console.MarkupLine(Markup.Escape(title));
                var task = ctx.AddTask("epoch 0/" + epochs, maxValue: epochs);
                result = fit(new Reporter<TrainingProgress>(p =>
                {
                    task.Value = p.Epoch;
                    task.Description = Markup.Escape($"epoch {p.Epoch}/{p.Epochs}" + (p.ValidationAccuracy is { } v ? $", val {v:P1}" : ""));
                    cli.Console.MarkupLine(Markup.Escape($"  {p}"));
                }));
                task.Value = epochs;
            });
        return result;
    }

    /// <summary>A duration such as <c>20m</c>, <c>90s</c>, <c>1h30m</c> or <c>00:20:00</c>.</summary>
    public static TimeSpan ParseDuration(string text, string option)
    {
        var m = DurationPattern().Match(text.Trim());
        if (m.Success && m.Groups.Cast<Group>().Skip(1).Any(g => g.Success))
        {
            double Part(string name) => m.Groups[name].Success ? double.Parse(m.Groups[name].Value, CultureInfo.InvariantCulture) : 0;
            var span = TimeSpan.FromHours(Part("h")) + TimeSpan.FromMinutes(Part("m")) + TimeSpan.FromSeconds(Part("s"));
            if (span > TimeSpan.Zero) return span;
        }
        else if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero)
        {
            return span;
        }
        throw new UsageException($"{option}: '{text}' is not a positive duration; write e.g. 20m, 90s, 1h30m or 00:20:00.");
    }

    [GeneratedRegex(@"^(?:(?<h>\d+(?:\.\d+)?)h)?(?:(?<m>\d+(?:\.\d+)?)m)?(?:(?<s>\d+(?:\.\d+)?)s)?$", RegexOptions.IgnoreCase)]
    private static partial Regex DurationPattern();

    /// <summary>Reports synchronously on the caller's thread.</summary>
    public sealed class Reporter<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

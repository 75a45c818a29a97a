using Microsoft.ML;

namespace Lightweight.ML.Torture;

/// <summary>
/// The process the kill torture starts and kills: trains with checkpoints every epoch in <c>--out</c>, resuming from
/// the last one, and writes the final weights to <c>final.safetensors</c>. It tells the parent what it does in lines on
/// standard output: <c>RESUMED &lt;epoch&gt;</c>, <c>EPOCH &lt;epoch&gt;</c> (after that epoch's checkpoint is written), <c>DONE</c>.
/// </summary>
internal static class TrainChild
{
    public const int Classes = 3;
    public const string FinalWeights = "final.safetensors";

    /// <summary>The training settings of both the interrupted and the reference run: only the output folder differs.</summary>
    public static ImageClassificationTrainerOptions Options(string model, int epochs, int seed, string? output)
    {
        var options = ModelNames.CreateOptions(model);
        options.ImageSize = 16;
        options.Epochs = epochs;
        options.BatchSize = 8;
        options.Seed = seed;
        options.ValidationFraction = 0.25;      // so best.ckpt is written and best-weight restore is exercised
        options.NumberOfThreads = 1;            // bitwise-reproducible across processes
        options.OutputDirectory = output;
        options.CheckpointEveryEpochs = 1;
        options.Resume = output is not null;
        return options;
    }

    public static int Run(DirectoryInfo data, DirectoryInfo output, int seed, int epochs, string model)
    {
        var options = Options(model, epochs, seed, output.FullName);
        options.Progress = new Reporter(p => Console.WriteLine($"EPOCH {p.Epoch}"));
        var ml = new MLContext(seed: seed);
        ml.Log += (_, e) =>
        {
            const string Resumed = "after epoch ";
            if (e.Message.Contains("Resumed from", StringComparison.Ordinal) && e.Message.IndexOf(Resumed, StringComparison.Ordinal) is int at and >= 0)
                Console.WriteLine($"RESUMED {new string(e.Message[(at + Resumed.Length)..].TakeWhile(char.IsAsciiDigit).ToArray())}");
        };
        var images = ml.Data.LoadImagesFromFolder(data.FullName);
        var fitted = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
            .Append(ml.MulticlassClassification.Trainers.ImageClassifier(options))
            .Fit(images);
        var classifier = ((IEnumerable<ITransformer>)fitted).OfType<ImageClassificationTransformer>().Single();
        ModelWeights.Save(classifier.Model, Path.Combine(output.FullName, FinalWeights));
        classifier.Dispose();
        Console.WriteLine("DONE");
        return 0;
    }

    /// <summary>Reports on the training thread, so each line is written before training goes on.</summary>
    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

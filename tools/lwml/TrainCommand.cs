using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML;

namespace Lightweight.ML.Cli;

/// <summary><c>lwml train --data &lt;folder&gt;</c>: trains one model on a folder of class subfolders and saves it.</summary>
internal static class TrainCommand
{
    public static Command Create(CliContext cli)
    {
        var data = CliShared.DataOption("Training images: one subfolder per class (root/<class>/<image>)");
        var model = CliShared.ModelOption();
        var epochs = new Option<int>("--epochs", "-e") { Description = "Passes over the training data", DefaultValueFactory = _ => 10 };
        var imageSize = CliShared.ImageSizeOption();
        var batchSize = CliShared.BatchSizeOption();
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate (default: 0.1 × batch / 256 for SGD)" };
        var validation = new Option<double>("--validation-fraction")
        {
            Description = "Stratified share of the images held out to validate each epoch (the best epoch's weights are kept); 0 = none",
            DefaultValueFactory = _ => 0.1,
        };
        var augmentation = new Option<string>("--augmentation")
        {
            Description = "none | light (flip, mild random crop) | imagenet (torchvision's ImageNet policy)", DefaultValueFactory = _ => "light",
        };
        augmentation.AcceptOnlyFromAmong("none", "light", "imagenet");
        var grayscale = CliShared.GrayscaleOption();
        var pretrained = new Option<FileInfo?>("--pretrained") { Description = "Start from these weights (.safetensors or TorchSharp .dat)" };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, shuffling and augmentation", DefaultValueFactory = _ => 1 };
        var threads = CliShared.ThreadsOption();
        var report = new Option<DirectoryInfo?>("--report") { Description = "Folder for metrics.csv, TensorBoard logs, plots and checkpoints" };
        var output = new Option<FileInfo>("--out", "-o") { Description = "Model file to write", DefaultValueFactory = _ => new FileInfo("model.zip") };

        var command = new Command("train", "Train an image classifier on a folder of class subfolders and save it as one .zip file")
        {
            data, model, epochs, imageSize, batchSize, lr, validation, augmentation, grayscale, pretrained, seed, threads, report, output,
        };
        command.SetAction(parse =>
        {
            var options = CliShared.CreateOptions(parse.GetValue(model)!);
            options.Epochs = parse.GetValue(epochs);
            options.ImageSize = parse.GetValue(imageSize);
            options.BatchSize = parse.GetValue(batchSize);
            options.LearningRate = parse.GetValue(lr);
            options.WarmupEpochs = options.Epochs > 1 ? 1 : 0;
            options.ValidationFraction = parse.GetValue(validation);
            options.InputChannels = parse.GetValue(grayscale) ? 1 : 3;
            options.PretrainedWeights = parse.GetValue(pretrained)?.FullName;
            options.Seed = parse.GetValue(seed);
            options.NumberOfThreads = parse.GetValue(threads);
            options.OutputDirectory = parse.GetValue(report)?.FullName;
            options.CancellationToken = cli.Cancellation;
            options.Augmentation = parse.GetValue(augmentation) switch
            {
                "none" => null,
                "imagenet" => new AugmentationOptions(),
                _ => new AugmentationOptions { CropScale = (0.6, 1.0), CropRatio = (0.9, 1.1), HorizontalFlipProbability = 0.5 },
            };
            if (parse.GetValue(pretrained) is { Exists: false } missing)
                throw new UsageException($"--pretrained: file '{missing.FullName}' does not exist.");
            Validate(options);
            var outPath = parse.GetValue(output)!.FullName;

            var ml = new MLContext(seed: options.Seed);
            var images = CliShared.LoadImageFolder(ml, parse.GetValue(data)!);
            var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
                .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
                .Append(ml.MulticlassClassification.Trainers.ImageClassifier(options));
            var clock = Stopwatch.StartNew();
            double? bestValidation = null;
            var fitted = CliShared.WithProgress(cli, $"Training {options.ModelName} on {images.GetRowCount()} images", options.Epochs, progress =>
            {
                options.Progress = new CliShared.Reporter<TrainingProgress>(p =>
                {
                    if (p.ValidationAccuracy is { } v && !(v <= bestValidation)) bestValidation = v;
                    progress.Report(p);
                });
                return pipeline.Fit(images);
            });
            using var classifier = fitted.LastTransformer;
            CliShared.SaveModel(ml, classifier, outPath);
            cli.Output.WriteLine($"Trained {options.ModelName} ({classifier.ClassNames.Count} classes) in {clock.Elapsed.TotalSeconds:F0} s" +
                                 (bestValidation is { } best ? $"; best validation accuracy {best:P2}" : "") + ".");
            cli.Output.WriteLine($"Saved {outPath}");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Option values the trainer would reject become usage errors naming the command-line option.</summary>
    internal static void Validate(ImageClassificationTrainerOptions options)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            string option = e.ParamName switch
            {
                "Epochs" => "--epochs", "ImageSize" => "--image-size", "BatchSize" => "--batch-size", "LearningRate" => "--lr",
                "ValidationFraction" => "--validation-fraction", "NumberOfThreads" => "--threads", "WarmupEpochs" => "--epochs",
                "PretrainedWeights" => "--pretrained",
                var other => other ?? "an option",
            };
            throw new UsageException($"{option}: {e.Message.Split(" (Parameter")[0]}");
        }
    }
}

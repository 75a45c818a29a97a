// Fashion-MNIST accuracy benchmark: trains through the ML.NET pipeline (LoadImagesFromFolder → MapValueToKey →
// LoadImages → trainer) on the full training split, tunes on a held-out part of it, and reports test-split accuracy.
// Make the image folder first: python3 examples/data/make_fashion_mnist_subset.py --train-per-class 6000 --test-per-class 1000 --out DIR
using System.CommandLine;
using System.Diagnostics;
using Lightweight.ML;
using Microsoft.ML;

var data = new Option<DirectoryInfo>("--data") { Description = "Folder with train/ and test/ class folders", Required = true };
var model = new Option<string>("--model")
{
    Description = ModelNames.Syntax,
    DefaultValueFactory = _ => "shufflenetv2-0.5x",
};
var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 15 };
var imageSize = new Option<int>("--image-size") { DefaultValueFactory = _ => 28 };
var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 128 };
var lr = new Option<double?>("--lr") { Description = "Peak learning rate (default: the trainer's)" };
var validation = new Option<double>("--validation-fraction") { DefaultValueFactory = _ => 0.1 };
var output = new Option<DirectoryInfo?>("--out") { Description = "Reports and checkpoints" };
var weightDecay = new Option<double?>("--weight-decay") { Description = "Weight decay (default: the trainer's)" };
var cropScale = new Option<double>("--crop-scale") { Description = "Smallest random-resized-crop area fraction; 1 = no crop", DefaultValueFactory = _ => 1.0 };
var cropPadding = new Option<int>("--crop-padding") { Description = "Random translation by up to this many pixels (RandomCrop with padding); replaces --crop-scale", DefaultValueFactory = _ => 0 };
var flip = new Option<double>("--flip") { Description = "Horizontal flip probability", DefaultValueFactory = _ => 0.0 };
var erasing = new Option<double>("--erasing") { Description = "Random erasing probability", DefaultValueFactory = _ => 0.0 };
var root = new RootCommand("Train and evaluate a Lightweight.ML model on Fashion-MNIST")
{
    data, model, epochs, imageSize, batch, lr, validation, output, weightDecay, cropScale, cropPadding, flip, erasing,
};
root.SetAction(parse =>
{
    var options = ModelNames.CreateOptions(parse.GetValue(model)!);
    options.Epochs = parse.GetValue(epochs);
    options.ImageSize = parse.GetValue(imageSize);
    options.BatchSize = parse.GetValue(batch);
    options.LearningRate = parse.GetValue(lr);
    options.WarmupEpochs = options.Epochs > 1 ? 1 : 0;
    options.ValidationFraction = parse.GetValue(validation);
    options.WeightDecay = parse.GetValue(weightDecay);
    var minScale = parse.GetValue(cropScale);
    options.Augmentation = new AugmentationOptions
    {
        RandomResizedCrop = minScale < 1, RandomCropPadding = parse.GetValue(cropPadding), CropScale = (minScale, 1.0), CropRatio = (0.9, 1.1),
        HorizontalFlipProbability = parse.GetValue(flip), ErasingProbability = parse.GetValue(erasing),
    };
    options.OutputDirectory = parse.GetValue(output)?.FullName;
    options.Progress = new Progress<TrainingProgress>(p => Console.WriteLine($"  {p}"));

    var ml = new MLContext(seed: 1);
    var dataRoot = parse.GetValue(data)!.FullName;
    var train = ml.Data.LoadImagesFromFolder(Path.Combine(dataRoot, "train"));
    var test = ml.Data.LoadImagesFromFolder(Path.Combine(dataRoot, "test"));
    var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
        .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
        .Append(ml.MulticlassClassification.Trainers.ImageClassifier(options));
    Console.WriteLine($"{options.ModelName}: {train.GetRowCount()} training images, {options.Epochs} epochs at {options.ImageSize} px, " +
                      $"batch {options.BatchSize}, lr {(options.LearningRate?.ToString() ?? "default")}, weight decay {options.WeightDecay?.ToString() ?? "default"}, " +
                      $"crop scale ≥ {minScale}, crop padding {parse.GetValue(cropPadding)}, flip {parse.GetValue(flip)}, erasing {parse.GetValue(erasing)}, validation fraction {options.ValidationFraction}");
    var clock = Stopwatch.StartNew();
    var fitted = pipeline.Fit(train);
    var fitSeconds = clock.Elapsed.TotalSeconds;
    var metrics = ml.MulticlassClassification.Evaluate(fitted.Transform(test));
    Console.WriteLine($"RESULT model={options.ModelName} epochs={options.Epochs} image_size={options.ImageSize} batch={options.BatchSize} " +
                      $"fit_s={fitSeconds:F0} total_s={clock.Elapsed.TotalSeconds:F0} test_top1={metrics.MicroAccuracy:F4} test_logloss={metrics.LogLoss:F4}");
});
return root.Parse(args).Invoke();

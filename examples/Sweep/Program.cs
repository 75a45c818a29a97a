// Sweep: which architecture and size gives the best accuracy for its latency on this machine? Trains several zoo models
// on the small Fashion-MNIST folder under a time budget (successive halving), then prints every trial, the Pareto front
// of validation accuracy against single-image latency, and the best model's test accuracy.
//   dotnet run --project examples/Sweep -c Release [-- <minutes>]        (default budget: 8 minutes)
// Results go to a folder (trials.csv, trials.json, pareto.png, the trials' models); rerunning resumes from it.
using Lightweight.ML;
using Microsoft.ML;

var dataRoot = Path.Combine(AppContext.BaseDirectory, "data");
var minutes = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 8;
var output = Path.Combine(Path.GetTempPath(), "lightweight-ml-sweep");
var ml = new MLContext(seed: 1);

// The trainers' input: key label + image column.
var load = ml.Transforms.Conversion.MapValueToKey("Label")
    .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"));
var trainFolder = ml.Data.LoadImagesFromFolder(Path.Combine(dataRoot, "train"));
var prepare = load.Fit(trainFolder);
var train = prepare.Transform(trainFolder);

var settings = new ImageClassificationExperimentSettings
{
    Models = ["shufflenetv2-0.5x", "shufflenetv2-1.0x", "ghostnet-0.5", "mobilenetv2-0.5", "shufflenetv1-g3-0.5x"],
    Epochs = 8,            // a fully trained trial
    MinEpochs = 2,         // every model first trains 2 epochs; the best third go on (ReductionFactor 3)
    LearningRates = [0.2],
    MaxExperimentTime = TimeSpan.FromMinutes(minutes),
    ConfigureTrainer = o =>
    {
        o.ImageSize = 28;
        o.BatchSize = 64;
        o.WarmupEpochs = 1;
        o.Augmentation = new AugmentationOptions { RandomResizedCrop = false, RandomCropPadding = 2, HorizontalFlipProbability = 0.5 };
    },
    OutputDirectory = output,
    Progress = new Progress<SweepProgress>(p =>
    {
        if (p.Result is { } r)
            Console.WriteLine($"  trial {r.Id}: {r.Settings.Model,-22} {r.Settings.Epochs} epochs  val {r.ValidationAccuracy:P1}  {r.SingleImageMilliseconds:F2} ms/image  ({r.TrainingSeconds:F0} s)");
    }),
};
Console.WriteLine($"Sweeping {settings.Models.Count} models for at most {minutes} minutes ({Environment.ProcessorCount} cores); results in {output}");
ImageClassificationExperimentResult result;
try
{
    result = ml.LightweightAuto().CreateImageClassificationExperiment(settings).Execute(train);
}
catch (TimeoutException e)
{
    Console.Error.WriteLine(e.Message);   // no trial finished in the budget (a busy machine, or too small a budget)
    return 1;
}

Console.WriteLine();
Console.WriteLine($"{"model",-22} {"params",10} {"MFLOPs",8} {"ms/image",9} {"batch ms/img",13}");
foreach (var p in result.Profiles.OrderBy(p => p.SingleImageMilliseconds))
    Console.WriteLine($"{p.Model,-22} {p.Parameters,10:N0} {p.MFlops,8:F1} {p.SingleImageMilliseconds,9:F2} {p.BatchMillisecondsPerImage,13:F3}");
Console.WriteLine();
Console.WriteLine("Pareto front (no other trial is both more accurate and faster):");
foreach (var t in result.ParetoFront)
    Console.WriteLine($"  {t.Settings.Model,-22} {t.Settings.Epochs} epochs  val {t.ValidationAccuracy:P1}  {t.SingleImageMilliseconds:F2} ms/image");
if (result.BudgetExhausted) Console.WriteLine("(The budget ran out before every planned trial ran; run again to continue.)");

if (result.BestTrial is { } best && result.BestModel is { } bestModel)
{
    var test = ml.Data.LoadImagesFromFolder(Path.Combine(dataRoot, "test"));
    var metrics = ml.MulticlassClassification.Evaluate(bestModel.Transform(prepare.Transform(test)));
    Console.WriteLine($"Best: {best.Settings.Model} ({best.Settings.Epochs} epochs), validation {best.ValidationAccuracy:P1}, " +
                      $"test {metrics.MicroAccuracy:P1}. Plot: {Path.Combine(output, "pareto.png")}");
    (bestModel as IDisposable)?.Dispose();
}
return 0;

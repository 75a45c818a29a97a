// Quickstart: train ShuffleNetV2 0.5x on a small Fashion-MNIST image folder (shipped in examples/data),
// evaluate it on held-out images and classify one image — the whole ML.NET flow in one page.
using System.Diagnostics;
using Lightweight.ML;
using Microsoft.ML;
using Microsoft.ML.Data;

var dataRoot = Path.Combine(AppContext.BaseDirectory, "data");
var ml = new MLContext(seed: 1);
IDataView train = ml.Data.LoadImagesFromFolder(Path.Combine(dataRoot, "train"));   // columns: ImagePath, Label
IDataView test = ml.Data.LoadImagesFromFolder(Path.Combine(dataRoot, "test"));

var options = new ShuffleNetV2Options
{
    ModelSize = ShuffleNetV2Size.X0_5,
    ImageSize = 32,          // ≤ 64 px selects the small-input stem (stride-1 conv, no max-pool)
    Epochs = 12,
    BatchSize = 64,
    LearningRate = 0.2,
    WarmupEpochs = 1,
    Progress = new Progress<TrainingProgress>(p => Console.WriteLine($"  {p}")),
};
var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
    .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
    .Append(ml.MulticlassClassification.Trainers.ShuffleNetV2(options))
    .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

Console.WriteLine($"Training ShuffleNetV2 0.5x on {train.GetRowCount()} images ({Environment.ProcessorCount} cores)...");
var clock = Stopwatch.StartNew();
var model = pipeline.Fit(train);
Console.WriteLine($"Trained in {clock.Elapsed.TotalSeconds:F1} s.");

var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test), topKPredictionCount: 3);
Console.WriteLine($"Test accuracy: {metrics.MicroAccuracy:P1} (top-3 {metrics.TopKAccuracy:P1}, log-loss {metrics.LogLoss:F3}) on {test.GetRowCount()} images.");

using var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(model);
var imagePath = Path.Combine(dataRoot, "test", "Sneaker", "0001.png");
ImagePrediction prediction = engine.Predict(new ImageInput { ImagePath = imagePath });
VBuffer<ReadOnlyMemory<char>> slotNames = default;
engine.OutputSchema["Score"].Annotations.GetValue("SlotNames", ref slotNames);   // class names, in Score order
Console.WriteLine($"{Path.GetRelativePath(dataRoot, imagePath)} → {prediction.PredictedLabel}");
foreach (var (name, p) in slotNames.DenseValues().Zip(prediction.Score).OrderByDescending(x => x.Second).Take(3))
    Console.WriteLine($"  {name,-12} {p:P1}");

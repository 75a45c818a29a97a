using Microsoft.ML;

namespace Lightweight.ML.Tests.MLNet;

[TestClass]
public sealed class GhostNetTrainerTests
{
    [TestMethod]
    public void ReadmeSnippetRunsWithGhostNet()
    {
        var ml = new MLContext(seed: 1);
        IDataView train = ml.Data.LoadImagesFromFolder(TestData.Subset("train", classes: 3, perClass: 60));
        var testRoot = TestData.Subset("test", classes: 3, perClass: 30);
        IDataView test = ml.Data.LoadImagesFromFolder(testRoot);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
            .Append(ml.MulticlassClassification.Trainers.GhostNet(new GhostNetOptions
            {
                Width = 1.0f, ImageSize = 32, Epochs = 6, BatchSize = 16, LearningRate = 0.1, WarmupEpochs = 1,
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(train);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        Assert.IsGreaterThan(0.5, metrics.MicroAccuracy, $"accuracy {metrics.MicroAccuracy} on 3 classes (chance 0.33)");

        using var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(model);
        var prediction = engine.Predict(new ImageInput { ImagePath = Path.Combine(testRoot, "Bag", "0001.png") });
        CollectionAssert.Contains(new[] { "Ankle_boot", "Bag", "Coat" }, prediction.PredictedLabel);
        Assert.HasCount(3, prediction.Score);
    }
}

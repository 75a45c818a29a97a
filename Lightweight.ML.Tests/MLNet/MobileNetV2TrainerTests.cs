using Lightweight.ML.Models;
using Microsoft.ML;

namespace Lightweight.ML.Tests.MLNet;

[TestClass]
public sealed class MobileNetV2TrainerTests
{
    [TestMethod]
    public void ReadmeSnippetRunsWithMobileNetV2()
    {
        var ml = new MLContext(seed: 1);
        IDataView train = ml.Data.LoadImagesFromFolder(TestData.Subset("train", classes: 3, perClass: 48));
        var testRoot = TestData.Subset("test", classes: 3, perClass: 30);
        IDataView test = ml.Data.LoadImagesFromFolder(testRoot);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
            .Append(ml.MulticlassClassification.Trainers.MobileNetV2(new MobileNetV2Options
            {
                Width = 0.5f, ImageSize = 32, Epochs = 3, BatchSize = 16, LearningRate = 0.05, WarmupEpochs = 1,
                BatchNormRecalibrationBatches = 4, // 27 steps leave the running statistics behind; re-estimate them
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(train);
        try
        {
            var network = ((IEnumerable<ITransformer>)model).OfType<ImageClassificationTransformer>().Single().Model;
            Assert.IsInstanceOfType<MobileNetV2>(network);
            Assert.IsTrue(((MobileNetV2)network).SmallInput, "32 px images use the small-input stem");

            var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
            Assert.IsGreaterThan(0.6, metrics.MicroAccuracy, $"accuracy {metrics.MicroAccuracy} on 3 classes (chance 0.33)");
            foreach (var scores in Pipelines.Scores(model.Transform(test)))
                Assert.AreEqual(1.0, scores.Sum(), 1e-4);

            using var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(model, new PredictionEngineOptions { OwnsTransformer = false });
            var prediction = engine.Predict(new ImageInput { ImagePath = Path.Combine(testRoot, "Bag", "0001.png") });
            CollectionAssert.Contains(new[] { "Ankle_boot", "Bag", "Coat" }, prediction.PredictedLabel);
            Assert.HasCount(3, prediction.Score);
        }
        finally
        {
            Pipelines.Dispose(model);
        }
    }

    [TestMethod]
    public void ColumnNameOverloadSetsTheOptions()
    {
        var trainer = new MLContext().MulticlassClassification.Trainers.MobileNetV2(
            labelColumnName: "L", imageColumnName: "Img", width: 0.75f, imageSize: 48, epochs: 2);
        var options = (MobileNetV2Options)trainer.Options;
        Assert.AreEqual(("L", "Img", 0.75f, 48, 2), (options.LabelColumnName, options.ImageColumnName, options.Width, options.ImageSize, options.Epochs));
        Assert.AreEqual("MobileNetV2-0.75x", options.ModelName);
        using var network = (MobileNetV2)options.CreateModel(5);
        Assert.AreEqual((5, 0.75f, true), (network.NumClasses, network.Width, network.SmallInput));
    }

    [TestMethod]
    public void BadOptionsNameTheOption()
    {
        var trainers = new MLContext().MulticlassClassification.Trainers;
        (MobileNetV2Options Options, string Name)[] cases =
        [
            (new MobileNetV2Options { Width = 0 }, "Width"),
            (new MobileNetV2Options { Width = 4.5f }, "Width"),
            (new MobileNetV2Options { Width = float.NaN }, "Width"),
            (new MobileNetV2Options { DropoutRate = 1 }, "DropoutRate"),
            (new MobileNetV2Options { DropoutRate = -0.1f }, "DropoutRate"),
            (new MobileNetV2Options { ImageSize = 8 }, "ImageSize"),
        ];
        foreach (var (options, name) in cases)
        {
            var e = Assert.Throws<ArgumentException>(() => trainers.MobileNetV2(options));
            Assert.AreEqual(name, e.ParamName, e.Message);
        }
    }
}

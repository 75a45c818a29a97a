using Lightweight.ML.Models;
using Microsoft.ML;

namespace Lightweight.ML.Tests.MLNet;

[TestClass]
public sealed class ShuffleNetV1TrainerTests
{
    [TestMethod]
    public void ReadmeSnippetRunsWithShuffleNetV1()
    {
        var ml = new MLContext(seed: 1);
        IDataView train = ml.Data.LoadImagesFromFolder(TestData.Subset("train", classes: 3, perClass: 48));
        var testRoot = TestData.Subset("test", classes: 3, perClass: 30);
        IDataView test = ml.Data.LoadImagesFromFolder(testRoot);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
            .Append(ml.MulticlassClassification.Trainers.ShuffleNetV1(new ShuffleNetV1Options
            {
                ModelSize = ShuffleNetV1Size.X0_5, Groups = 3, ImageSize = 32, Epochs = 3, BatchSize = 16, LearningRate = 0.02, WarmupEpochs = 1,
                BatchNormRecalibrationBatches = 4, // 27 steps leave the running statistics behind; re-estimate them
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(train);
        try
        {
            var network = ((IEnumerable<ITransformer>)model).OfType<ImageClassificationTransformer>().Single().Model;
            Assert.IsInstanceOfType<ShuffleNetV1>(network);
            Assert.AreEqual((3, true), (((ShuffleNetV1)network).Groups, ((ShuffleNetV1)network).SmallInput));

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
        var trainer = new MLContext().MulticlassClassification.Trainers.ShuffleNetV1(
            labelColumnName: "L", imageColumnName: "Img", modelSize: ShuffleNetV1Size.X2_0, groups: 8, imageSize: 96, epochs: 2);
        var options = (ShuffleNetV1Options)trainer.Options;
        Assert.AreEqual(("L", "Img", ShuffleNetV1Size.X2_0, 8, 96, 2),
            (options.LabelColumnName, options.ImageColumnName, options.ModelSize, options.Groups, options.ImageSize, options.Epochs));
        Assert.AreEqual("ShuffleNetV1-g8-2.0x", options.ModelName);
        using var network = (ShuffleNetV1)options.CreateModel(5);
        Assert.AreEqual((5, 8, ShuffleNetV1Size.X2_0, false), (network.NumClasses, network.Groups, network.Size, network.SmallInput));
    }

    [TestMethod]
    public void BadOptionsNameTheOption()
    {
        var trainers = new MLContext().MulticlassClassification.Trainers;
        (ShuffleNetV1Options Options, string Name)[] cases =
        [
            (new ShuffleNetV1Options { Groups = 5 }, "Groups"),
            (new ShuffleNetV1Options { Groups = 0 }, "Groups"),
            (new ShuffleNetV1Options { Groups = 16 }, "Groups"),
            (new ShuffleNetV1Options { ModelSize = (ShuffleNetV1Size)4 }, "ModelSize"),
            (new ShuffleNetV1Options { InputChannels = 2 }, "InputChannels"),
        ];
        foreach (var (options, name) in cases)
        {
            var e = Assert.Throws<ArgumentException>(() => trainers.ShuffleNetV1(options));
            Assert.AreEqual(name, e.ParamName, e.Message);
            Assert.IsInstanceOfType<ArgumentOutOfRangeException>(e);
        }
    }
}

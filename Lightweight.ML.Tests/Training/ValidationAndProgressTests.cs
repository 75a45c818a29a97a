using Lightweight.ML.Tests.MLNet;
using Microsoft.ML;

namespace Lightweight.ML.Tests.Training;

[TestClass]
public sealed class ValidationAndProgressTests
{
    [TestMethod]
    public void ValidationAccuracyIsReportedEachEpochThroughProgressAndTheLog()
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Source.StartsWith("ShuffleNetV2")) lock (log) log.Add(e.Message); };
        var train = ml.Data.LoadImagesFromFolder(TestData.Subset("train", classes: 2, perClass: 16));
        // Raw form, as LoadImagesFromFolder returns it: text label and image path (no MapValueToKey, no LoadImages).
        var validation = ml.Data.LoadImagesFromFolder(TestData.Subset("test", classes: 2, perClass: 10));
        var reports = new List<TrainingProgress>();
        var options = Pipelines.Small(epochs: 3);
        options.ValidationSet = validation;
        options.Progress = new TestProgress(reports.Add);

        var model = Pipelines.Build(ml, ml.MulticlassClassification.Trainers.ShuffleNetV2(options)).Fit(train);

        Assert.HasCount(3, reports);
        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, reports.Select(r => r.Epoch).ToArray());
        foreach (var r in reports)
        {
            Assert.IsNotNull(r.ValidationAccuracy);
            Assert.IsTrue(r.ValidationAccuracy is >= 0 and <= 1 && double.IsFinite(r.ValidationLoss!.Value), r.ToString());
            // Accuracy is a multiple of 1/20 on 20 validation images.
            Assert.AreEqual(0, Math.Round(r.ValidationAccuracy.Value * 20, 6) % 1, r.ToString());
            Assert.IsTrue(double.IsFinite(r.TrainLoss) && r.ImagesPerSecond > 0, r.ToString());
        }
        Assert.AreEqual(4L * 3, reports[^1].Step, "32 images in batches of 8, for 3 epochs");
        Assert.IsTrue(reports[^1].LearningRate < reports[0].LearningRate, "cosine decay");
        lock (log)
        {
            Assert.IsTrue(log.Any(m => m.Contains("epoch 3/3") && m.Contains("val_acc")), string.Join("\n", log));
            Assert.IsTrue(log.Any(m => m.Contains("] Training ShuffleNetV2-0.5x (")), string.Join("\n", log));
        }
        Pipelines.Dispose(model);
    }

    [TestMethod]
    public void ValidationLabelsOutsideTheTrainingClassesAreNamed()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadImagesFromFolder(TestData.Subset("train", classes: 2, perClass: 4));
        var options = Pipelines.Small();
        options.ValidationSet = ml.Data.LoadImagesFromFolder(TestData.Subset("test", classes: 3, perClass: 2));
        var e = Assert.ThrowsExactly<InvalidDataException>(() =>
            Pipelines.Build(ml, ml.MulticlassClassification.Trainers.ShuffleNetV2(options)).Fit(train));
        StringAssert.Contains(e.Message, "'Coat'");
    }
}

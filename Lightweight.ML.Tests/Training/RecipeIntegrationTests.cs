using Lightweight.ML.Tests.MLNet;
using Microsoft.ML;

namespace Lightweight.ML.Tests.Training;

/// <summary>The recipe pieces working together inside Fit: augmentation, held-out validation, reports and checkpoints.</summary>
[TestClass]
public sealed class RecipeIntegrationTests
{
    private static string _root = null!;

    [ClassInitialize]
    public static void MakeData(TestContext _) => _root = TestData.Subset("train", classes: 3, perClass: 12);

    private static ShuffleNetV2Options Options(int seed, string? output = null) => new()
    {
        ModelSize = ShuffleNetV2Size.X0_5, ImageSize = 16, Epochs = 3, BatchSize = 8, Seed = seed, OutputDirectory = output,
        ValidationFraction = 0.25,
        Augmentation = new AugmentationOptions { CropScale = (0.5, 1.0), Brightness = 0.2, ErasingProbability = 0.3 },
    };

    private static List<float[]> FitAndScore(ShuffleNetV2Options options)
    {
        var ml = new MLContext(seed: 1);
        var model = Pipelines.Build(ml, ml.MulticlassClassification.Trainers.ShuffleNetV2(options)).Fit(ml.Data.LoadImagesFromFolder(_root));
        var scores = Pipelines.Scores(model.Transform(ml.Data.LoadImagesFromFolder(_root)));
        Pipelines.Dispose(model);
        return scores;
    }

    [TestMethod]
    public void AugmentedTrainingIsSeededAndScoringIsDeterministic()
    {
        var a = FitAndScore(Options(seed: 3));
        var b = FitAndScore(Options(seed: 3));
        var c = FitAndScore(Options(seed: 4));
        for (int i = 0; i < a.Count; i++) CollectionAssert.AreEqual(a[i], b[i], $"row {i}");
        Assert.IsTrue(a.Zip(c).Any(p => !p.First.SequenceEqual(p.Second)), "another seed draws other augmentations");
    }

    [TestMethod]
    public void OutputDirectoryGetsMetricsTensorBoardPlotsAndCheckpoints()
    {
        var dir = TestData.NewTempFolder();
        FitAndScore(Options(seed: 3, output: dir));
        var csv = File.ReadAllLines(Path.Combine(dir, "metrics.csv"));
        Assert.HasCount(4, csv, string.Join("\n", csv));
        StringAssert.StartsWith(csv[0], "epoch,step,train_loss,train_acc,val_loss,val_acc,val_top5,lr");
        StringAssert.StartsWith(csv[3], "3,");
        Assert.IsTrue(Directory.GetFiles(Path.Combine(dir, "tensorboard"), "*", SearchOption.AllDirectories).Any(f => new FileInfo(f).Length > 100));
        foreach (var png in new[] { "loss.png", "accuracy.png", "lr.png", "confusion_matrix.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(dir, png));
            Assert.IsGreaterThan(5000, bytes.Length, png);
            CollectionAssert.AreEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, bytes[..4], png);
        }
        Assert.AreEqual(3, Lightweight.ML.Training.Checkpoint.ReadHeader(Path.Combine(dir, "checkpoints", "last.ckpt")).Epoch);
        Assert.IsTrue(File.Exists(Path.Combine(dir, "checkpoints", "best.ckpt")));
        Assert.IsFalse(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories).Any(), "no temp file is left behind");
    }
}

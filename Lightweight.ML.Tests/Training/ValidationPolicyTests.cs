using Lightweight.ML.Tests.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lightweight.ML.Tests.Training;

/// <summary>Held-out validation, early stopping, best-weight restore and batch-norm recalibration.</summary>
[TestClass]
public sealed class ValidationPolicyTests
{
    private static ShuffleNetV2Options Options(int epochs) => new()
    {
        ModelSize = ShuffleNetV2Size.X0_5, ImageSize = 16, Epochs = epochs, BatchSize = 8, Seed = 5, LearningRate = 0.05,
    };

    private static (ITransformer, MLContext, IDataView) Fit(ShuffleNetV2Options options, string root)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadImagesFromFolder(root);
        return (Pipelines.Build(ml, ml.MulticlassClassification.Trainers.ShuffleNetV2(options)).Fit(data), ml, data);
    }

    [TestMethod]
    public void HeldOutFractionIsStratifiedAndReported()
    {
        var options = Options(epochs: 2);
        options.ValidationFraction = 0.25;
        var reports = new List<TrainingProgress>();
        options.Progress = new TestProgress(reports.Add);
        var (model, _, _) = Fit(options, TestData.Subset("train", classes: 2, perClass: 16));
        Assert.HasCount(2, reports);
        foreach (var r in reports)
            Assert.AreEqual(0, Math.Round(r.ValidationAccuracy!.Value * 8, 6) % 1, $"8 held-out images (4 per class): {r}");
        Assert.AreEqual(1.0, reports[0].ValidationTop5!.Value, "top-5 of 2 classes is always right");
        Assert.AreEqual(3L * 2, reports[^1].Step, "24 training images left, in batches of 8");
        Pipelines.Dispose(model);
    }

    [TestMethod]
    public void EarlyStoppingStopsAfterPatienceEpochsWithoutImprovement()
    {
        var options = Options(epochs: 12);
        options.ValidationFraction = 0.25;
        options.EarlyStoppingPatience = 2;
        var reports = new List<TrainingProgress>();
        options.Progress = new TestProgress(reports.Add);
        var (model, _, _) = Fit(options, TestData.Subset("train", classes: 2, perClass: 16));
        int stale = 0, expectedStop = 12;
        double best = double.NegativeInfinity;
        foreach (var r in reports)
        {
            if (r.ValidationAccuracy!.Value > best) (best, stale) = (r.ValidationAccuracy.Value, 0);
            else if (++stale >= 2) { expectedStop = r.Epoch; break; }
        }
        Assert.AreEqual(expectedStop, reports[^1].Epoch, string.Join("\n", reports));
        Pipelines.Dispose(model);
    }

    [TestMethod]
    public void BestWeightsAreWhatFitReturns()
    {
        var root = TestData.Subset("train", classes: 3, perClass: 12);
        var validationRoot = TestData.Subset("test", classes: 3, perClass: 10);
        var options = Options(epochs: 6);
        var reports = new List<TrainingProgress>();
        options.Progress = new TestProgress(reports.Add);
        var ml0 = new MLContext(seed: 1);
        options.ValidationSet = ml0.Data.LoadImagesFromFolder(validationRoot);
        var (model, ml, _) = Fit(options, root);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.LoadImagesFromFolder(validationRoot)));
        Assert.AreEqual(reports.Max(r => r.ValidationAccuracy!.Value), metrics.MicroAccuracy, 1e-9, string.Join("\n", reports));
        Pipelines.Dispose(model);
    }

    [TestMethod]
    public void BatchNormRecalibrationReestimatesRunningStatistics()
    {
        var root = TestData.Subset("train", classes: 2, perClass: 12);
        var (plain, _, _) = Fit(Options(epochs: 1), root);
        var recalibrated = Options(epochs: 1);
        recalibrated.BatchNormRecalibrationBatches = 2;
        var (model, _, _) = Fit(recalibrated, root);
        var a = Trainer(plain).Model.state_dict();
        var b = Trainer(model).Model.state_dict();
        Assert.IsTrue(a["conv1.0.weight"].eq(b["conv1.0.weight"]).all().item<bool>(), "same weights");
        Assert.IsFalse(a["conv1.1.running_mean"].allclose(b["conv1.1.running_mean"]), "statistics re-estimated");
        Assert.AreEqual(2L, b["conv1.1.num_batches_tracked"].item<long>(), "cumulative over the 2 recalibration batches");
        Pipelines.Dispose(plain);
        Pipelines.Dispose(model);
    }

    private static ImageClassificationTransformer Trainer(ITransformer model)
        => ((IEnumerable<ITransformer>)model).OfType<ImageClassificationTransformer>().Single();

}

using System.Text.Json.Nodes;
using Microsoft.ML;

namespace Lightweight.ML.Tests.Sweep;

[TestClass]
public sealed class ImageClassificationExperimentTests
{
    private static readonly Lazy<string> Folder = new(() => TestData.Subset("train", classes: 3, perClass: 24));

    /// <summary>Three Fashion-MNIST classes as the trainers take them: key label + image column.</summary>
    private static IDataView Prepare(MLContext ml)
    {
        var images = ml.Data.LoadImagesFromFolder(Folder.Value);
        return ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
            .Fit(images).Transform(images);
    }

    private static ImageClassificationExperimentSettings Settings(string? output, params string[] models) => new()
    {
        Models = models.Length > 0 ? models : ["shufflenetv2-0.5x", "ghostnet-0.5"],
        Epochs = 2,
        MinEpochs = 1,
        ReductionFactor = 2,
        LearningRates = [0.05],
        MaxExperimentTime = TimeSpan.FromMinutes(10),
        ConfigureTrainer = o => (o.ImageSize, o.BatchSize) = (16, 8),
        LatencyBatchSize = 4,
        OutputDirectory = output,
    };

    [TestMethod]
    public void RungsGrowByTheFactorUpToTheFullEpochs()
    {
        CollectionAssert.AreEqual(new[] { 1, 3, 9, 10 }, ImageClassificationExperiment.Rungs(1, 10, 3).ToArray());
        CollectionAssert.AreEqual(new[] { 2, 4, 8 }, ImageClassificationExperiment.Rungs(2, 8, 2).ToArray());
        CollectionAssert.AreEqual(new[] { 5 }, ImageClassificationExperiment.Rungs(5, 5, 3).ToArray());
    }

    [TestMethod]
    public void SuccessiveHalvingRecordsEveryTrialWritesTheFolderAndResumesWithoutRetraining()
    {
        var dir = TestData.NewTempFolder();
        var ml = new MLContext(seed: 1);
        var reports = new List<SweepProgress>();
        var settings = Settings(dir);
        settings.Progress = new TestProgress<SweepProgress>(reports.Add);
        var result = ml.LightweightAuto().CreateImageClassificationExperiment(settings).Execute(Prepare(ml));
        using var bestModel = result.BestModel as IDisposable;

        // Rung 0: both models for 1 epoch; rung 1: the better one for 2 epochs.
        Assert.AreEqual(3, result.Trials.Count);
        CollectionAssert.AreEqual(new[] { 1, 1, 2 }, result.Trials.Select(t => t.Settings.Epochs).ToArray());
        var rung0 = result.Trials.Take(2).OrderByDescending(t => t.ValidationAccuracy).First();
        Assert.AreEqual(rung0.Settings.Model, result.Trials[2].Settings.Model, "the more accurate rung-0 model is promoted");
        Assert.IsFalse(result.BudgetExhausted);
        foreach (var t in result.Trials)
        {
            Assert.AreEqual(TrialStatus.Completed, t.Status);
            Assert.IsTrue(t.ValidationAccuracy is >= 0 and <= 1 && t.Parameters > 0 && t.MFlops > 0 && t.SingleImageMilliseconds > 0 && t.TrainingSeconds > 0, t.ToString());
            Assert.AreEqual(0.05, t.LearningRate);
            Assert.IsTrue(File.Exists(t.ModelPath), t.ModelPath);
        }
        var best = result.Trials.MaxBy(t => t.ValidationAccuracy)!;
        Assert.AreEqual(best.ValidationAccuracy, result.BestTrial!.ValidationAccuracy);
        Assert.IsInstanceOfType<ImageClassificationTransformer>(result.BestModel);
        Assert.IsTrue(result.ParetoFront.Count >= 1 && result.ParetoFront.Contains(result.Trials.OrderBy(t => t.SingleImageMilliseconds).ThenByDescending(t => t.ValidationAccuracy).First()));
        Assert.AreEqual(2, result.Profiles.Count);
        Assert.AreEqual(3, reports.Count(r => r.Result is not null));
        Assert.AreEqual(1 + 1 + 2, reports.Count(r => r.Epoch is not null), "one report per epoch of every trial");

        var csv = File.ReadAllLines(Path.Combine(dir, "trials.csv"));
        Assert.AreEqual(4, csv.Length);
        StringAssert.StartsWith(csv[0], "id,model,learning_rate");
        Assert.IsTrue(new FileInfo(Path.Combine(dir, "pareto.png")).Length > 10_000);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "trials.json")))!;
        Assert.AreEqual(3, json["trials"]!.AsArray().Count);

        // Run again on the same folder: nothing trains, the same trials and best come back (the model read from disk).
        reports.Clear();
        var again = new MLContext(seed: 1).LightweightAuto().CreateImageClassificationExperiment(settings).Execute(Prepare(ml));
        using var againModel = again.BestModel as IDisposable;
        Assert.AreEqual(0, reports.Count(r => r.Epoch is not null), "no trial trains again");
        CollectionAssert.AreEqual(result.Trials.ToArray(), again.Trials.ToArray());
        Assert.AreEqual(result.BestTrial, again.BestTrial);
        Assert.IsNotNull(again.BestModel);
    }

    [TestMethod]
    public void ABudgetEndingBeforeTheFirstTrialThrowsTimeoutAndCancellationThrows()
    {
        var ml = new MLContext(seed: 1);
        var data = Prepare(ml);
        var tiny = Settings(null, "shufflenetv2-0.5x");
        tiny.MaxExperimentTime = TimeSpan.FromMilliseconds(1);
        StringAssert.Contains(Assert.ThrowsExactly<TimeoutException>(() => ml.LightweightAuto().CreateImageClassificationExperiment(tiny).Execute(data)).Message,
            "MaxExperimentTime");

        using var cancel = new CancellationTokenSource();
        var cancelled = Settings(null, "shufflenetv2-0.5x");
        cancelled.CancellationToken = cancel.Token;
        cancelled.Progress = new TestProgress<SweepProgress>(p => { if (p.Epoch is null && p.Result is null) cancel.Cancel(); });
        Assert.ThrowsExactly<OperationCanceledException>(() => ml.LightweightAuto().CreateImageClassificationExperiment(cancelled).Execute(data));
    }

    [TestMethod]
    public void LatencyAndSizeBudgetsExcludeModelsBeforeTraining()
    {
        var ml = new MLContext(seed: 1);
        var settings = Settings(null, "shufflenetv2-0.5x", "shufflenetv2-2.0x");
        (settings.Epochs, settings.MinEpochs) = (1, 1);
        settings.Objective = SweepObjective.AccuracyUnderSize;
        settings.MaxParameters = 1_000_000; // 0.5x with 3 classes has ~0.35 M, 2.0x ~5.4 M
        var result = ml.LightweightAuto().CreateImageClassificationExperiment(settings).Execute(Prepare(ml));
        using var model = result.BestModel as IDisposable;
        CollectionAssert.AreEqual(new[] { "shufflenetv2-2.0x" }, result.ExcludedModels.ToArray());
        Assert.IsTrue(result.Trials.All(t => t.Settings.Model == "shufflenetv2-0.5x" && t.Parameters <= 1_000_000));

        settings.Objective = SweepObjective.AccuracyUnderLatency;
        settings.MaxLatencyMilliseconds = 1e-6;
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.LightweightAuto().CreateImageClassificationExperiment(settings).Execute(Prepare(ml)));
        StringAssert.Contains(e.Message, "MaxLatencyMilliseconds");
    }

    [TestMethod]
    public void BadSettingsAndADamagedResultsFileGiveClearErrors()
    {
        var ml = new MLContext(seed: 1);
        var settings = Settings(null, "resnet50");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.LightweightAuto().CreateImageClassificationExperiment(settings)).Message, "resnet50");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.LightweightAuto().CreateImageClassificationExperiment(new ImageClassificationExperimentSettings { ReductionFactor = 1 }));
        Assert.ThrowsExactly<ArgumentException>(() => ml.LightweightAuto().CreateImageClassificationExperiment(
            new ImageClassificationExperimentSettings { Objective = SweepObjective.AccuracyUnderLatency }));

        var dir = TestData.NewTempFolder();
        var path = Path.Combine(dir, "trials.json");
        File.WriteAllText(path, "{\"format\": \"lightweight-ml-sweep\", \"version\": 1, \"trials\": [ {\"key\": 3");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.LightweightAuto().CreateImageClassificationExperiment(Settings(dir)).Execute(Prepare(ml)));
        StringAssert.Contains(e.Message, path);
    }
}

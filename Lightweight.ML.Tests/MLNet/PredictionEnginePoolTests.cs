using System.Collections.Concurrent;
using Microsoft.ML;

namespace Lightweight.ML.Tests.MLNet;

/// <summary>Thread-safe scoring: many threads through one pool give exactly the serial predictions.</summary>
[TestClass]
public sealed class PredictionEnginePoolTests
{
    private static MLContext _ml = null!;
    private static ITransformer _model = null!;
    private static ImageInput[] _inputs = null!;

    [ClassInitialize]
    public static void FitOnce(TestContext _)
    {
        _ml = new MLContext(seed: 1);
        var root = TestData.Subset("train", classes: 3, perClass: 30);
        var options = new ShuffleNetV2Options
        {
            ModelSize = ShuffleNetV2Size.X0_5, ImageSize = 16, Epochs = 4, BatchSize = 15, LearningRate = 0.05, Seed = 3,
        };
        _model = Pipelines.Build(_ml, _ml.MulticlassClassification.Trainers.ShuffleNetV2(options))
            .Fit(_ml.Data.LoadImagesFromFolder(root));
        _inputs = Directory.GetFiles(root, "*.png", SearchOption.AllDirectories).Order()
            .Select(p => new ImageInput { ImagePath = p }).ToArray();
    }

    [ClassCleanup]
    public static void Cleanup() => Pipelines.Dispose(_model);

    [TestMethod]
    public void SixteenThreadsTimesAThousandPredictionsEqualTheSerialResults()
    {
        using var serialEngine = _ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(_model, new PredictionEngineOptions { OwnsTransformer = false });
        var serial = _inputs.Select(serialEngine.Predict).ToArray();
        Assert.IsGreaterThan(1, serial.Select(p => p.PredictedLabel).Distinct().Count(), "a model predicting one class would hide mix-ups");

        using var pool = _ml.Model.CreatePredictionEnginePool<ImageInput, ImagePrediction>(_model);
        const int threads = 16, perThread = 1000;
        var mismatches = new ConcurrentBag<string>();
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < perThread; i++)
            {
                int k = (i * 7 + t * 13) % _inputs.Length; // threads visit the images in different orders
                var p = pool.Predict(_inputs[k]);
                if (p.PredictedLabel != serial[k].PredictedLabel || !p.Score.SequenceEqual(serial[k].Score))
                    mismatches.Add($"thread {t}, call {i}, image {k}: {p.PredictedLabel} vs {serial[k].PredictedLabel}");
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => Assert.IsTrue(w.Join(TimeSpan.FromMinutes(5)), "a scoring thread hung"));
        Assert.IsEmpty(mismatches, string.Join("; ", mismatches.Take(5)));
        Assert.IsLessThanOrEqualTo(pool.MaximumRetained, pool.IdleCount);
        Assert.IsGreaterThanOrEqualTo(1, pool.IdleCount);
    }

    [TestMethod]
    public void DisposingThePoolKeepsTheModelAndRentReturnReuseEngines()
    {
        var pool = new PredictionEnginePool<ImageInput, ImagePrediction>(_ml, _model, maximumRetained: 1);
        var a = pool.Rent();
        var b = pool.Rent();
        Assert.AreNotSame(a, b);
        pool.Return(a);
        pool.Return(b); // beyond maximumRetained: disposed, not kept
        Assert.AreSame(a, pool.Rent());
        pool.Return(a);
        pool.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => pool.Predict(_inputs[0]));
        // The model is still usable after the pool is gone.
        using var engine = _ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(_model, new PredictionEngineOptions { OwnsTransformer = false });
        Assert.HasCount(3, engine.Predict(_inputs[0]).Score);
    }

    [TestMethod]
    public void BadArgumentsAreNamed()
    {
        Assert.AreEqual("maximumRetained",
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new PredictionEnginePool<ImageInput, ImagePrediction>(_ml, _model, 0)).ParamName);
        Assert.AreEqual("model",
            Assert.ThrowsExactly<ArgumentNullException>(() => _ml.Model.CreatePredictionEnginePool<ImageInput, ImagePrediction>(null!)).ParamName);
    }
}

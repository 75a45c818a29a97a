using Lightweight.ML.Export;
using Lightweight.ML.MLNet;
using Lightweight.ML.Tests.Export;
using Lightweight.ML.Models;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.MLNet;

/// <summary>
/// <see cref="ScoringEngine"/>: ONNX Runtime by default on the CPU, the same scores as TorchSharp through Transform and a
/// PredictionEngine, a weight change through <see cref="ImageClassificationTransformer.Model"/> seen by the next score,
/// the engine kept by the pipeline file, and the failure cases.
/// </summary>
[TestClass]
public sealed class ScoringEngineTests
{
    private const float Tolerance = 1e-5f;

    private static MLContext _ml = null!;
    private static ITransformer _fitted = null!;
    private static ImageClassificationTransformer _classifier = null!;
    private static IDataView _test = null!;
    /// <summary>LoadImages → a random network (scores that vary from image to image far more than a tiny trained one's).</summary>
    private static ITransformer _random = null!;
    private static ImageClassificationTransformer _randomClassifier = null!;

    [ClassInitialize]
    public static void Train(TestContext _)
    {
        _ml = new MLContext(seed: 1);
        var train = _ml.Data.LoadImagesFromFolder(TestData.Subset("train", classes: 3, perClass: 16));
        _fitted = Pipelines.Build(_ml, _ml.MulticlassClassification.Trainers.ShuffleNetV2(Pipelines.Small(epochs: 2))).Fit(train);
        _classifier = ((IEnumerable<ITransformer>)_fitted).OfType<ImageClassificationTransformer>().Single();
        _test = _ml.Data.LoadImagesFromFolder(TestData.Subset("test", classes: 3, perClass: 6));
        _randomClassifier = RandomClassifier(imageSize: 28);
        _random = new TransformerChain<ITransformer>(
            _ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath").Fit(_test), _randomClassifier);
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        Pipelines.Dispose(_fitted);
        _randomClassifier.Dispose();
    }

    [TestCleanup]
    public void ResetEngine()
    {
        _classifier.ScoringEngine = ScoringEngine.Auto;
        _randomClassifier.ScoringEngine = ScoringEngine.Auto;
    }

    [TestMethod]
    public void AutoScoresWithOnnxRuntimeOnTheCpu()
    {
        Assert.AreEqual(ScoringEngine.Auto, _classifier.ScoringEngine);
        Assert.AreEqual(ScoringEngine.OnnxRuntime, _classifier.EffectiveScoringEngine);
        _classifier.ScoringEngine = ScoringEngine.TorchSharp;
        Assert.AreEqual(ScoringEngine.TorchSharp, _classifier.EffectiveScoringEngine);
    }

    [TestMethod]
    public void TransformScoresAgreeBetweenEngines()
    {
        var onnx = ScoresWith(ScoringEngine.OnnxRuntime);
        var torch = ScoresWith(ScoringEngine.TorchSharp);
        Assert.AreEqual(18, onnx.Count);
        AssertClose(torch, onnx);
        // Scores that differ from image to image by far more than the tolerance: agreeing is not trivial.
        float spread = Enumerable.Range(0, 3).Max(c => onnx.Max(r => r[c]) - onnx.Min(r => r[c]));
        Assert.IsTrue(spread > 100 * Tolerance, $"scores hardly vary between images (spread {spread})");
        var auto = ScoresWith(ScoringEngine.Auto);
        CollectionAssert.AreEqual(onnx.SelectMany(r => r).ToArray(), auto.SelectMany(r => r).ToArray());
    }

    [TestMethod]
    public void PredictionEngineAgreesWithBatchTransformInBothEngines()
    {
        foreach (var engine in new[] { ScoringEngine.OnnxRuntime, ScoringEngine.TorchSharp })
        {
            var batch = ScoresWith(engine);
            var rows = _ml.Data.CreateEnumerable<ImageInput>(_test, reuseRowObject: false).ToList();
            using var predictor = _ml.Model.CreatePredictionEngine<ImageInput, ScoreOnly>(_random,
                new PredictionEngineOptions { OwnsTransformer = false });
            var single = rows.Select(r => predictor.Predict(new ImageInput { ImagePath = r.ImagePath }).Score!).ToList();
            AssertClose(batch, single);
        }
    }

    [TestMethod]
    public void EvaluateGivesTheSameAccuracyInBothEngines()
    {
        _classifier.ScoringEngine = ScoringEngine.OnnxRuntime;
        var onnx = _ml.MulticlassClassification.Evaluate(_fitted.Transform(_test));
        _classifier.ScoringEngine = ScoringEngine.TorchSharp;
        var torch = _ml.MulticlassClassification.Evaluate(_fitted.Transform(_test));
        Assert.AreEqual(torch.MicroAccuracy, onnx.MicroAccuracy);
        Assert.AreEqual(torch.LogLoss, onnx.LogLoss, 1e-4);
    }

    [TestMethod]
    public void WeightChangeThroughModelIsSeenByTheNextOnnxScore()
    {
        using var t = RandomClassifier(imageSize: 16);
        t.ScoringEngine = ScoringEngine.OnnxRuntime;
        var before = ScoresOf(t);
        var fc = t.Model.modules().OfType<Linear>().Last();
        using (no_grad())
        {
            fc.weight!.zero_();
            fc.bias!.copy_(tensor(new float[] { 0f, 0f, 3f }));
        }
        var after = ScoresOf(t);
        float expected = MathF.Exp(3) / (2 + MathF.Exp(3)); // softmax of (0, 0, 3) whatever the image
        Assert.IsTrue(before.Any(r => MathF.Abs(r[2] - expected) > 0.01f), "the random network should not already give this");
        foreach (var row in after) Assert.AreEqual(expected, row[2], Tolerance);
    }

    [TestMethod]
    public void PipelineFileKeepsTheEngine()
    {
        string folder = TestData.NewTempFolder();
        string path = Path.Combine(folder, "model.zip");
        _classifier.ScoringEngine = ScoringEngine.TorchSharp;
        _ml.Model.SavePipeline(_fitted, _test.Schema, path);
        var loaded = _ml.Model.LoadPipeline(path, out _);
        try
        {
            var classifier = ((IEnumerable<ITransformer>)loaded).OfType<ImageClassificationTransformer>().Single();
            Assert.AreEqual(ScoringEngine.TorchSharp, classifier.ScoringEngine);
            AssertClose(Pipelines.Scores(_fitted.Transform(_test)), Pipelines.Scores(loaded.Transform(_test)));
        }
        finally
        {
            Pipelines.Dispose(loaded);
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void UnknownEngineIsRejectedWithItsName()
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => _classifier.ScoringEngine = (ScoringEngine)7);
        Assert.AreEqual("value", e.ParamName);
        var options = Pipelines.Small();
        options.ScoringEngine = (ScoringEngine)7;
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => options.Validate());
        Assert.AreEqual(nameof(ImageClassificationTrainerOptions.ScoringEngine), ex.ParamName);
    }

    [TestMethod]
    public void OnnxScorerRejectsPixelsOfTheWrongShape()
    {
        using var model = new ShuffleNetV2(ShuffleNetV2Size.X0_5, numClasses: 3, inChannels: 1, smallInput: true);
        model.eval();
        using var scorer = new OnnxRuntimeScorer(model, new ImagePreprocessing(16, 1), threads: 1);
        using var wrong = zeros([2, 3, 16, 16], ScalarType.Byte);
        var e = Assert.ThrowsExactly<ArgumentException>(() => scorer.Score(wrong, new float[6]));
        StringAssert.Contains(e.Message, "[N, 1, 16, 16]");
    }

    /// <summary>Scores of the test images through the random network's chain with <paramref name="engine"/>.</summary>
    private static List<float[]> ScoresWith(ScoringEngine engine)
    {
        _randomClassifier.ScoringEngine = engine;
        return Pipelines.Scores(_random.Transform(_test));
    }

    private static List<float[]> ScoresOf(ImageClassificationTransformer t)
    {
        using var pixels = randint(0, 256, [4, 1, 16, 16], ScalarType.Byte);
        var result = new float[4 * 3];
        t.Score(pixels, result);
        return result.Chunk(3).ToList();
    }

    private static void AssertClose(IReadOnlyList<float[]> expected, IReadOnlyList<float[]> actual)
    {
        Assert.AreEqual(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.AreEqual(expected[i].Length, actual[i].Length);
            for (int j = 0; j < expected[i].Length; j++)
                Assert.AreEqual(expected[i][j], actual[i][j], Tolerance, $"row {i}, class {j}");
        }
    }

    /// <summary>A random 1-channel ShuffleNetV2 0.5× (seeded, <see cref="OnnxExportTests.Randomize"/>d) as a fitted transformer of the grey test images.</summary>
    private static ImageClassificationTransformer RandomClassifier(int imageSize)
    {
        manual_seed(11);
        var model = new ShuffleNetV2(ShuffleNetV2Size.X0_5, numClasses: 3, inChannels: 1, smallInput: true);
        using (var noise = randn(8, 1, imageSize, imageSize)) OnnxExportTests.Randomize(model, noise);
        return new ImageClassificationTransformer(model, "random", new ImagePreprocessing(imageSize, 1),
            new ScoreColumns("Score", "PredictedLabel", ["a", "b", "c"], null), "Image", "ImagePath", batchSize: 4, CPU);
    }

    private sealed class ScoreOnly
    {
        public float[] Score { get; set; } = [];
    }
}

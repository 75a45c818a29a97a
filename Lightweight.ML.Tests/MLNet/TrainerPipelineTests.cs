using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Lightweight.ML.Tests.MLNet;

/// <summary>
/// The README flow end to end on real images (4 Fashion-MNIST classes): fit, evaluate, PredictionEngine, schema,
/// determinism and native memory. One model is fitted for the class and shared by the read-only tests.
/// </summary>
[TestClass]
public sealed class TrainerPipelineTests
{
    private static readonly PredictionEngineOptions KeepModel = new() { OwnsTransformer = false };
    private static MLContext _ml = null!;
    private static IDataView _train = null!, _test = null!;
    private static ITransformer _model = null!;
    private static string _testRoot = null!;

    private static ShuffleNetV2Options Options() => new()
    {
        ModelSize = ShuffleNetV2Size.X0_5, ImageSize = 32, Epochs = 8, BatchSize = 16, LearningRate = 0.1, WarmupEpochs = 1,
    };

    private static string _trainRoot = null!;

    [ClassInitialize]
    public static void FitOnce(TestContext _)
    {
        _trainRoot = TestData.Subset("train", classes: 4, perClass: 100);
        (_ml, _train, _model) = Fit();
        _testRoot = TestData.Subset("test", classes: 4, perClass: 50);
        _test = _ml.Data.LoadImagesFromFolder(_testRoot);
    }

    /// <summary>The README sequence on a new <c>MLContext(seed: 1)</c>.</summary>
    private static (MLContext, IDataView, ITransformer) Fit()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadImagesFromFolder(_trainRoot);
        return (ml, train, Pipelines.Build(ml, ml.MulticlassClassification.Trainers.ShuffleNetV2(Options())).Fit(train));
    }

    [ClassCleanup]
    public static void Cleanup() => Pipelines.Dispose(_model);

    [TestMethod]
    public void FitBeatsChanceAndEvaluateWorks()
    {
        var metrics = _ml.MulticlassClassification.Evaluate(_model.Transform(_test), topKPredictionCount: 2);
        Assert.IsGreaterThan(0.6, metrics.MicroAccuracy, $"accuracy {metrics.MicroAccuracy} on 4 classes (chance 0.25)");
        Assert.IsGreaterThanOrEqualTo(metrics.MicroAccuracy, metrics.TopKAccuracy);
        Assert.IsTrue(double.IsFinite(metrics.LogLoss) && metrics.LogLoss > 0);
        Assert.AreEqual(4, metrics.PerClassLogLoss.Count);
    }

    [TestMethod]
    public void OutputSchemaCarriesSlotNamesAndKeyValues()
    {
        var steps = ((IEnumerable<ITransformer>)_model).ToArray();
        var trainerOutput = steps[2].Transform(steps[1].Transform(steps[0].Transform(_test)));
        var score = trainerOutput.Schema["Score"];
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 4), score.Type);
        VBuffer<ReadOnlyMemory<char>> slotNames = default;
        score.Annotations.GetValue("SlotNames", ref slotNames);
        CollectionAssert.AreEqual(new[] { "Ankle_boot", "Bag", "Coat", "Dress" }, slotNames.DenseValues().Select(n => n.ToString()).ToArray());
        var predicted = trainerOutput.Schema["PredictedLabel"];
        Assert.AreEqual(new KeyDataViewType(typeof(uint), 4), predicted.Type);
        VBuffer<ReadOnlyMemory<char>> keyValues = default;
        predicted.Annotations.GetValue("KeyValues", ref keyValues);
        CollectionAssert.AreEqual(slotNames.DenseValues().ToArray(), keyValues.DenseValues().ToArray());
        Assert.AreEqual(TextDataViewType.Instance, _model.GetOutputSchema(_test.Schema)["PredictedLabel"].Type);
    }

    [TestMethod]
    public void EstimatorSchemaPropagates()
    {
        var pipeline = Pipelines.Build(_ml, _ml.MulticlassClassification.Trainers.ShuffleNetV2(Options()));
        // SchemaShape.Create(DataViewSchema) is internal to ML.NET; tests reach it the way ML.NET's own tests do.
        var create = typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic,
            [typeof(DataViewSchema)])!;
        var shape = pipeline.GetOutputSchema((SchemaShape)create.Invoke(null, [_train.Schema])!);
        var score = shape.Single(c => c.Name == "Score");
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, score.Kind);
        Assert.AreEqual(NumberDataViewType.Single, score.ItemType);
        Assert.IsTrue(score.Annotations.Any(a => a.Name == "SlotNames"));
        var predicted = shape.Single(c => c.Name == "PredictedLabel");
        Assert.AreEqual(TextDataViewType.Instance, predicted.ItemType, "MapKeyToValue turns the key back into the class name");
    }

    [TestMethod]
    public void PredictionEngineGivesTheSameScoresAsTransform()
    {
        var rows = Lightweight.ML.Data.ImageFolder.List(_testRoot).Where((_, i) => i % 10 == 0).ToList();
        var batch = Pipelines.Scores(_model.Transform(_ml.Data.LoadFromEnumerable(rows)));
        var labels = _model.Transform(_ml.Data.LoadFromEnumerable(rows)).GetColumn<string>("PredictedLabel").ToArray();
        using var engine = _ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(_model, KeepModel);
        for (int i = 0; i < rows.Count; i++)
        {
            var single = engine.Predict(new ImageInput { ImagePath = rows[i].ImagePath });
            Assert.HasCount(4, single.Score);
            for (int k = 0; k < 4; k++) Assert.AreEqual(batch[i][k], single.Score[k], 1e-5f, $"row {i}, class {k}");
            Assert.AreEqual(labels[i], single.PredictedLabel);
            Assert.AreEqual(1f, single.Score.Sum(), 1e-4f);
        }
    }

    [TestMethod]
    public void SameSeedGivesIdenticalModel()
    {
        var rows = Lightweight.ML.Data.ImageFolder.List(_testRoot).Take(16).ToList();
        var data = _ml.Data.LoadFromEnumerable(rows);
        var (_, _, again) = Fit();
        var first = Pipelines.Scores(_model.Transform(data));
        var second = Pipelines.Scores(again.Transform(data));
        for (int i = 0; i < first.Count; i++) CollectionAssert.AreEqual(first[i], second[i], $"row {i}");
    }

    [TestMethod]
    public void SavingThroughMLNetExplainsWhyItIsNotSupported()
    {
        var path = Path.Combine(TestData.NewTempFolder(), "model.zip");
        var e = Assert.Throws<Exception>(() => _ml.Model.Save(_model, _train.Schema, path));
        var messages = string.Join(" | ", Flatten(e).Select(x => x.Message));
        StringAssert.Contains(messages, "dotnet/machinelearning#4911");
    }

    [TestMethod]
    public void NoTensorOutlivesFitOrScoring()
    {
        var ml = new MLContext(seed: 3);
        var train = ml.Data.LoadImagesFromFolder(TestData.Subset("train", classes: 2, perClass: 20));
        var rows = Lightweight.ML.Data.ImageFolder.List(_testRoot);
        var thousand = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 1000).Select(i => rows[i % rows.Count]).ToList());

        var options = Options();
        options.Epochs = 2;
        // What a bare network of this architecture keeps alive while it exists, and leaves behind (TorchSharp's own
        // per-parameter bookkeeping) once disposed: Fit may keep exactly that, nothing more.
        long before = LiveTensors();
        var bare = options.CreateModel(2);
        long networkTensors = LiveTensors() - before;
        bare.Dispose();
        long residue = LiveTensors() - before;

        long baseline = LiveTensors();
        var model = Pipelines.Build(ml, ml.MulticlassClassification.Trainers.ShuffleNetV2(options)).Fit(train);
        var trainer = ((IEnumerable<ITransformer>)model).OfType<ImageClassificationTransformer>().Single();
        long afterFit = LiveTensors();
        Assert.AreEqual(baseline + networkTensors, afterFit, "Fit kept tensors beyond the trained network's own");

        Assert.AreEqual(1000, Pipelines.Scores(model.Transform(thousand)).Count);
        using (var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(model, KeepModel))
            for (int i = 0; i < 20; i++) engine.Predict(rows[i]);
        Assert.AreEqual(afterFit, LiveTensors(), "scoring 1,000 rows left tensors alive");

        trainer.Dispose();
        Assert.AreEqual(baseline + residue, LiveTensors(), "disposing the transformer releases the network");
    }

    [TestMethod]
    public void DisposedModelExplainsPredictionEngineOwnership()
    {
        var ml = new MLContext(seed: 2);
        var train = ml.Data.LoadImagesFromFolder(TestData.Subset("train", classes: 2, perClass: 8));
        var model = Pipelines.Build(ml, ml.MulticlassClassification.Trainers.ShuffleNetV2(Pipelines.Small())).Fit(train);
        var row = Lightweight.ML.Data.ImageFolder.List(_testRoot)[0];
        using (var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(model))
            Assert.HasCount(2, engine.Predict(row).Score);
        // ML.NET's PredictionEngine owns (and disposed) the transformer by default.
        var e = Assert.ThrowsExactly<ObjectDisposedException>(() => model.Transform(train));
        StringAssert.Contains(e.Message, "OwnsTransformer = false");
    }

    /// <summary>Live tensor wrappers after collecting garbage, so earlier tests' unreachable objects don't drift the count.</summary>
    private static long LiveTensors()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return torch.Tensor.TotalCount;
    }

    private static IEnumerable<Exception> Flatten(Exception? e)
    {
        for (; e is not null; e = e.InnerException) yield return e;
    }
}

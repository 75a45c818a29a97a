using Lightweight.ML.Models;
using Lightweight.ML.Tests.Export;
using Lightweight.ML.Tests.MLNet;
using Microsoft.ML;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Training;

/// <summary>PretrainedWeights and FreezeBackboneEpochs: loading, freezing, errors, and that pretraining helps.</summary>
[TestClass]
public sealed class FineTuningTests
{
    private static string _root = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void MakeData(TestContext _) => _root = TestData.Subset("train", classes: 3, perClass: 8);

    private static ShuffleNetV2Options Options(int epochs, int frozen, string? weights) => new()
    {
        ModelSize = ShuffleNetV2Size.X0_5, ImageSize = 16, Epochs = epochs, BatchSize = 8, Seed = 5, LearningRate = 0.05,
        FreezeBackboneEpochs = frozen, PretrainedWeights = weights,
    };

    private static (ITransformer Chain, ImageClassifierModel Model) Fit(ImageClassificationTrainerOptions options, string root)
    {
        var ml = new MLContext(seed: 1);
        var trainer = options switch
        {
            ShuffleNetV2Options s => ml.MulticlassClassification.Trainers.ShuffleNetV2(s),
            GhostNetOptions g => ml.MulticlassClassification.Trainers.GhostNet(g),
            _ => throw new ArgumentOutOfRangeException(nameof(options)),
        };
        var chain = Pipelines.Build(ml, trainer).Fit(ml.Data.LoadImagesFromFolder(root));
        return (chain, ((IEnumerable<ITransformer>)chain).OfType<ImageClassificationTransformer>().Single().Model);
    }

    /// <summary>Pretrained weights for the 16 px ShuffleNetV2 0.5× with 2 classes (the training data has 3).</summary>
    private static string PretrainedFile()
    {
        var path = Path.Combine(TestData.NewTempFolder(), "pretrained.safetensors");
        using var model = ModelWeightsTests.Make("ShuffleNetV2", seed: 31, classes: 2);
        ModelWeights.Save(model, path);
        return path;
    }

    private static bool IsClassifier(string key) => key.StartsWith("fc.", StringComparison.Ordinal);

    [TestMethod]
    public void FrozenBackboneStaysExactlyThePretrainedOneAndTrainsAfterUnfreezing()
    {
        var path = PretrainedFile();
        var pretrained = Safetensors.Load(path);
        manual_seed(5);
        using var fresh = Options(1, 1, null).CreateModel(3); // the classifier Fit starts from (same seed)
        try
        {
            // Frozen for the whole (one-epoch) run: every backbone parameter and batch-norm statistic is the file's.
            var (frozenChain, frozenModel) = Fit(Options(epochs: 1, frozen: 1, path), _root);
            foreach (var (key, value) in frozenModel.state_dict())
            {
                if (IsClassifier(key))
                    Assert.IsFalse(fresh.state_dict()[key].Equals(value), $"{key} was trained");
                else
                    Assert.IsTrue(pretrained[key].Equals(value), $"{key} changed while the backbone was frozen");
            }
            Assert.IsTrue(frozenModel.parameters().All(p => p.requires_grad), "Fit leaves every parameter trainable again");
            Pipelines.Dispose(frozenChain);

            // Frozen for epoch 1 of 2: epoch 2 trains the backbone, batch-norm statistics included.
            var (chain, model) = Fit(Options(epochs: 2, frozen: 1, path), _root);
            var state = model.state_dict();
            Assert.IsFalse(pretrained["conv1.0.weight"].Equals(state["conv1.0.weight"]), "the backbone trains after unfreezing");
            Assert.IsFalse(pretrained["conv5.1.running_var"].Equals(state["conv5.1.running_var"]), "and its batch-norm statistics update");
            Pipelines.Dispose(chain);
        }
        finally
        {
            foreach (var t in pretrained.Values) t.Dispose();
        }
    }

    [TestMethod]
    public void PretrainedClassifierIsKeptWhenTheClassCountMatches()
    {
        var path = Path.Combine(TestData.NewTempFolder(), "three.dat");
        using (var three = ModelWeightsTests.Make("ShuffleNetV2", seed: 32, classes: 3)) ModelWeights.Save(three, path);
        using var scope = NewDisposeScope();
        var (chain, model) = Fit(Options(epochs: 1, frozen: 1, path), _root);
        using var file = ModelWeightsTests.Make("ShuffleNetV2", seed: 40, classes: 3);
        ModelWeights.Load(file, path);
        manual_seed(5);
        using var fresh = Options(1, 1, null).CreateModel(3);
        // The backbone is the file's exactly; the classifier started from the file's, not from a fresh one, and trained.
        Assert.IsTrue(file.state_dict()["conv1.0.weight"].Equals(model.state_dict()["conv1.0.weight"]));
        var trained = model.state_dict()["fc.weight"];
        float fromFile = (trained - file.state_dict()["fc.weight"]).abs().max().item<float>();
        float fromFresh = (trained - fresh.state_dict()["fc.weight"]).abs().max().item<float>();
        TestContext.WriteLine($"max |trained - file| = {fromFile:G3}, max |trained - fresh| = {fromFresh:G3}");
        Assert.IsGreaterThan(0f, fromFile, "the classifier trained");
        Assert.IsLessThan(fromFresh / 2, fromFile, "and it started from the file's");
        Pipelines.Dispose(chain);
    }

    [TestMethod]
    public void BadPretrainedWeightsNameTheOptionAndTheFileBeforeTraining()
    {
        var ml = new MLContext(seed: 1);
        var missing = Path.Combine(TestData.NewTempFolder(), "missing.safetensors");
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.ShuffleNetV2(Options(1, 0, missing)));
        Assert.AreEqual("PretrainedWeights", e.ParamName);
        StringAssert.Contains(e.Message, missing);
        Assert.IsInstanceOfType<FileNotFoundException>(e.InnerException);

        var epochs = 0;
        void FitFails<TInner>(ImageClassificationTrainerOptions options, string expected)
        {
            options.Progress = new TestProgress(_ => epochs++);
            var error = Assert.ThrowsExactly<ArgumentException>(() => Fit(options, _root));
            Assert.AreEqual("PretrainedWeights", error.ParamName);
            StringAssert.Contains(error.Message, options.PretrainedWeights!);
            StringAssert.Contains(error.Message, expected);
            Assert.IsInstanceOfType<TInner>(error.InnerException);
        }

        var corrupt = Path.Combine(TestData.NewTempFolder(), "corrupt.safetensors");
        File.WriteAllBytes(corrupt, [2, 0, 0, 0, 0, 0, 0, 0, (byte)'x', (byte)'y']);
        FitFails<InvalidDataException>(Options(1, 0, corrupt), "header is not a JSON object");

        var ghost = Path.Combine(TestData.NewTempFolder(), "ghost.safetensors");
        using (var model = ModelWeightsTests.Make("GhostNet", seed: 33, classes: 3)) ModelWeights.Save(model, ghost);
        FitFails<WeightsMismatchException>(Options(1, 0, ghost), "saved from a GhostNet");

        var wider = Options(1, 0, PretrainedFile());
        wider.ModelSize = ShuffleNetV2Size.X1_0;
        FitFails<WeightsMismatchException>(wider, "stage2.0.branch1.2.weight: file [24, 24, 1, 1] F32, model [58, 24, 1, 1] Float32");

        var gray = Options(1, 0, PretrainedFile());
        gray.InputChannels = 1;
        FitFails<WeightsMismatchException>(gray, "conv1.0.weight: file [24, 3, 3, 3] F32, model [24, 1, 3, 3] Float32");
        Assert.AreEqual(0, epochs, "no epoch ran");

        Assert.AreEqual("FreezeBackboneEpochs", Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => ml.MulticlassClassification.Trainers.ShuffleNetV2(Options(1, -1, null))).ParamName);
    }
}

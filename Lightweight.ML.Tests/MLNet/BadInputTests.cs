using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lightweight.ML.Tests.MLNet;

/// <summary>
/// Bad input gets a specific .NET exception naming the file or option; odd-but-valid input is handled. Damaged and forged
/// image files, folders, NaN-producing settings and more are rows of <c>Reliability/BadInputCorpusTests</c>.
/// </summary>
[TestClass]
public sealed class BadInputTests
{
    /// <summary>A folder with two classes of three real images each (plus whatever the test adds).</summary>
    private static string TwoClassFolder() => TestData.Subset("train", classes: 2, perClass: 3);

    private static ITransformer Fit(string root, ShuffleNetV2Options? options = null)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadImagesFromFolder(root);
        return Pipelines.Build(ml, ml.MulticlassClassification.Trainers.ShuffleNetV2(options ?? Pipelines.Small())).Fit(data);
    }

    [TestMethod]
    public void MixedGrayscaleRgbRgbaAndSizesAreHandled()
    {
        var root = TwoClassFolder();   // 28x28 grayscale PNGs
        TestData.WritePng(Path.Combine(root, "Bag", "rgb.png"), 50, 30, 200, 120, 40);
        TestData.WritePng(Path.Combine(root, "Bag", "rgba.png"), 17, 64, 10, 20, 30, a: 128);
        TestData.WritePng(Path.Combine(root, "Ankle_boot", "big.jpg"), 300, 200, 90, 90, 90);
        var model = Fit(root);
        var ml = new MLContext(seed: 1);
        var scored = model.Transform(ml.Data.LoadImagesFromFolder(root));
        var scores = Pipelines.Scores(scored);
        Assert.HasCount(9, scores);
        Assert.IsTrue(scores.All(s => s.Length == 2 && s.All(float.IsFinite) && Math.Abs(s.Sum() - 1) < 1e-4));
        Pipelines.Dispose(model);
    }

    [TestMethod]
    public void LabelColumnMissingOrNotKeyIsExplained()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadImagesFromFolder(TwoClassFolder());
        var options = Pipelines.Small();
        options.LabelColumnName = "Category";
        var e = Assert.ThrowsExactly<ArgumentException>(() => Pipelines.Build(ml, ml.MulticlassClassification.Trainers.ShuffleNetV2(options)).Fit(data));
        StringAssert.Contains(e.Message, "'Category' was not found");

        var noKey = ml.Transforms.LoadImages("Image", null, "ImagePath").Append(ml.MulticlassClassification.Trainers.ShuffleNetV2(Pipelines.Small()));
        e = Assert.ThrowsExactly<ArgumentException>(() => noKey.Fit(data));
        StringAssert.Contains(e.Message, "MapValueToKey(\"Label\")");
    }

    [TestMethod]
    public void ImageColumnMissingIsExplained()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadImagesFromFolder(TwoClassFolder());
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.ShuffleNetV2(Pipelines.Small()));
        var e = Assert.ThrowsExactly<ArgumentException>(() => pipeline.Fit(data));
        StringAssert.Contains(e.Message, "Image column 'Image' was not found");
        StringAssert.Contains(e.Message, "LoadImages");
    }

    [TestMethod]
    public void BadOptionsNameTheOption()
    {
        var trainers = new MLContext().MulticlassClassification.Trainers;
        (ImageClassificationTrainerOptions Options, string Name)[] cases =
        [
            (new ShuffleNetV2Options { ModelSize = (ShuffleNetV2Size)7 }, "ModelSize"),
            (new ShuffleNetV2Options { ImageSize = 15 }, "ImageSize"),
            (new ShuffleNetV2Options { Epochs = 0 }, "Epochs"),
            (new ShuffleNetV2Options { BatchSize = 1 }, "BatchSize"),
            (new ShuffleNetV2Options { LearningRate = -1 }, "LearningRate"),
            (new ShuffleNetV2Options { LabelSmoothing = 1 }, "LabelSmoothing"),
            (new ShuffleNetV2Options { InputChannels = 4 }, "InputChannels"),
            (new ShuffleNetV2Options { Mean = [0.5f] }, "Mean"),
            (new ShuffleNetV2Options { Std = [0.2f, 0f, 0.2f] }, "Std"),
            (new ShuffleNetV2Options { WarmupEpochs = 10, Epochs = 10 }, "WarmupEpochs"),
            (new ShuffleNetV2Options { ImageColumnName = " " }, "ImageColumnName"),
            (new GhostNetOptions { Width = 0 }, "Width"),
            (new GhostNetOptions { DropoutRate = 1 }, "DropoutRate"),
        ];
        foreach (var (options, name) in cases)
        {
            var e = Assert.Throws<ArgumentException>(() => options is GhostNetOptions g ? trainers.GhostNet(g) : trainers.ShuffleNetV2((ShuffleNetV2Options)options));
            Assert.AreEqual(name, e.ParamName, e.Message);
        }
    }

    [TestMethod]
    public void UnknownOrUnavailableDeviceIsNamed()
    {
        var root = TwoClassFolder();
        foreach (var device in new[] { "tpu", "cuda:0" })
        {
            var options = Pipelines.Small();
            options.Device = device;
            if (device.StartsWith("cuda") && TorchSharp.torch.cuda.is_available()) continue;
            var e = Assert.Throws<ArgumentException>(() => Fit(root, options));
            Assert.AreEqual("Device", e.ParamName);
            StringAssert.Contains(e.Message, device);
        }
    }

    [TestMethod]
    public void ScoringWithoutTheImageColumnIsExplained()
    {
        var model = Fit(TwoClassFolder());
        var trainer = ((IEnumerable<ITransformer>)model).OfType<ImageClassificationTransformer>().Single();
        var ml = new MLContext();
        var e = Assert.ThrowsExactly<ArgumentException>(() => trainer.Transform(ml.Data.LoadFromEnumerable(new[] { new ImageInput() })));
        StringAssert.Contains(e.Message, "Image column 'Image' was not found");
        Pipelines.Dispose(model);
    }
}

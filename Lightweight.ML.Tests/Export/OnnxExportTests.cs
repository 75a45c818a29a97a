using System.Diagnostics;
using System.Text.Json;
using Lightweight.ML.Data;
using Lightweight.ML.Export;
using Lightweight.ML.MLNet;
using Lightweight.ML.Models;
using Lightweight.ML.Tests.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Export;

/// <summary>
/// ONNX export: ONNX Runtime's probabilities against TorchSharp's for every architecture and size (random weights and
/// batch-norm statistics), ML.NET's LoadImages → ResizeImages → ExtractPixels → ApplyOnnxModel against the trained
/// transformer's scores (also after mlContext.Model.Save/Load), python onnx's checker, and the failure cases.
/// </summary>
[TestClass]
public sealed class OnnxExportTests
{
    private const float Tolerance = 1e-4f;
    private const int MnistSize = 28; // the shipped Fashion-MNIST PNGs are 28 × 28: ResizeImages leaves them as they are

    private static MLContext _ml = null!;
    private static ITransformer _fitted = null!;
    private static ImageClassificationTransformer _trained = null!;
    private static IDataView _testImages = null!;

    [ClassInitialize]
    public static void TrainTinyModel(TestContext _)
    {
        _ml = new MLContext(seed: 3);
        var train = _ml.Data.LoadImagesFromFolder(TestData.Subset("train", classes: 3, perClass: 24));
        var options = new ShuffleNetV2Options { ModelSize = ShuffleNetV2Size.X0_5, ImageSize = MnistSize, Epochs = 1, BatchSize = 16, Seed = 5 };
        _fitted = Pipelines.Build(_ml, _ml.MulticlassClassification.Trainers.ShuffleNetV2(options)).Fit(train);
        _trained = ((IEnumerable<ITransformer>)_fitted).OfType<ImageClassificationTransformer>().Single();
        _testImages = _ml.Data.LoadImagesFromFolder(TestData.Subset("test", classes: 3, perClass: 4));
    }

    [ClassCleanup]
    public static void Cleanup() => Pipelines.Dispose(_fitted);

    // ---- Every architecture: ONNX Runtime vs TorchSharp ------------------------------------------------------------

    [TestMethod]
    [DataRow(ShuffleNetV2Size.X0_5, false, 3)]
    [DataRow(ShuffleNetV2Size.X0_5, true, 3)]
    [DataRow(ShuffleNetV2Size.X1_0, false, 3)]
    [DataRow(ShuffleNetV2Size.X1_0, true, 1)]
    [DataRow(ShuffleNetV2Size.X1_5, false, 1)]
    [DataRow(ShuffleNetV2Size.X1_5, true, 3)]
    [DataRow(ShuffleNetV2Size.X2_0, false, 3)]
    [DataRow(ShuffleNetV2Size.X2_0, true, 3)]
    public void ShuffleNetV2MatchesTorchSharp(ShuffleNetV2Size size, bool smallInput, int channels)
    {
        manual_seed(11);
        using var model = new ShuffleNetV2(size, numClasses: 5, inChannels: channels, smallInput: smallInput);
        AssertOnnxMatchesTorch(model, new ImagePreprocessing(32, channels));
    }

    [TestMethod]
    [DataRow(0.5f, true, 3, 0.2f)]
    [DataRow(1.0f, false, 3, 0.2f)]
    [DataRow(1.0f, true, 1, 0f)]
    [DataRow(1.3f, true, 3, 0.5f)]
    public void GhostNetMatchesTorchSharp(float width, bool smallInput, int channels, float dropout)
    {
        manual_seed(12);
        using var model = new GhostNet(numClasses: 4, width: width, inChannels: channels, smallInput: smallInput, dropout: dropout);
        AssertOnnxMatchesTorch(model, new ImagePreprocessing(32, channels));
    }

    [TestMethod]
    [DataRow(0.5f, true, 3)]
    [DataRow(0.5f, false, 3)]
    [DataRow(1.0f, true, 1)]
    [DataRow(1.0f, false, 3)]
    public void MobileNetV2MatchesTorchSharp(float width, bool smallInput, int channels)
    {
        manual_seed(19);
        using var model = new MobileNetV2(numClasses: 4, width: width, inChannels: channels, smallInput: smallInput);
        AssertOnnxMatchesTorch(model, new ImagePreprocessing(smallInput ? 32 : 64, channels));
    }

    [TestMethod]
    [DataRow(ShuffleNetV1Size.X0_5, 1, true, 3)]
    [DataRow(ShuffleNetV1Size.X1_0, 1, false, 3)]
    [DataRow(ShuffleNetV1Size.X0_5, 3, false, 3)]
    [DataRow(ShuffleNetV1Size.X1_0, 3, true, 1)]
    [DataRow(ShuffleNetV1Size.X0_5, 8, true, 3)]
    [DataRow(ShuffleNetV1Size.X1_0, 8, false, 3)]
    public void ShuffleNetV1MatchesTorchSharp(ShuffleNetV1Size size, int groups, bool smallInput, int channels)
    {
        manual_seed(20);
        using var model = new ShuffleNetV1(size, groups, numClasses: 5, inChannels: channels, smallInput: smallInput);
        AssertOnnxMatchesTorch(model, new ImagePreprocessing(smallInput ? 32 : 64, channels));
    }

    [TestMethod]
    public void CustomMeanAndStdAreInTheGraph()
    {
        manual_seed(13);
        using var model = new ShuffleNetV2(ShuffleNetV2Size.X0_5, numClasses: 3, smallInput: true);
        AssertOnnxMatchesTorch(model, new ImagePreprocessing(24, 3, mean: [0.2f, 0.5f, 0.7f], std: [0.1f, 0.3f, 0.9f]));
    }

    [TestMethod]
    public void GrayscaleFromRgbConvertsToLumaLikeTheImageBatchBuilder()
    {
        manual_seed(14);
        using var model = new GhostNet(numClasses: 3, width: 0.5f, inChannels: 1, smallInput: true);
        AssertOnnxMatchesTorch(model, new ImagePreprocessing(32, 1), new OnnxExportOptions { GrayscaleFromRgb = true });
    }

    /// <summary>
    /// Random BGRA images → (a) ImageBatchBuilder + ImagePreprocessing + TorchSharp forward + softmax, the path scoring takes;
    /// (b) planar R, G, B (or the grey plane the builder made) 0–255 → ONNX Runtime on the exported file. Batches of 3 and 1.
    /// </summary>
    private static void AssertOnnxMatchesTorch(ImageClassifierModel model, ImagePreprocessing preprocessing, OnnxExportOptions? options = null)
    {
        int size = preprocessing.ImageSize, n = 3;
        var images = RandomBgraImages(n, size, seed: 21);
        float[] expected, input;
        using (NewDisposeScope())
        using (no_grad())
        {
            using var builder = new ImageBatchBuilder(preprocessing);
            foreach (var bgra in images)
                using (var image = MLImage.CreateFromPixels(size, size, MLPixelFormat.Bgra32, bgra)) builder.Add(image);
            var pixels = builder.Build();
            Randomize(model, preprocessing.Normalize(pixels, CPU));
            expected = nn.functional.softmax(model.call(preprocessing.Normalize(pixels, CPU)), 1).data<float>().ToArray();
            bool rgbInput = preprocessing.Channels == 3 || options?.GrayscaleFromRgb == true;
            input = rgbInput ? PlanarRgb(images, size) : pixels.to(ScalarType.Float32).data<float>().ToArray();
        }
        int inputChannels = input.Length / (n * size * size);

        string path = Path.Combine(TestData.NewTempFolder(), "model.onnx");
        OnnxExport.Save(model, preprocessing, path, Enumerable.Range(0, model.NumClasses).Select(i => $"class {i}").ToArray(), options);
        using var session = new InferenceSession(path);
        float[] actual = Run(session, input, n, inputChannels, size);
        AssertClose(expected, actual);
        float[] single = Run(session, input[..(inputChannels * size * size)], 1, inputChannels, size);
        AssertClose(expected[..model.NumClasses], single);

        // Not a vacuous comparison: the probabilities differ between classes and between images.
        Assert.IsGreaterThan(1e-3f, expected.Max() - expected.Min(), "degenerate (uniform) probabilities would make the comparison meaningless");
        float imageDifference = Enumerable.Range(0, model.NumClasses).Max(k => Math.Abs(expected[k] - expected[model.NumClasses + k]));
        Assert.IsGreaterThan(1e-3f, imageDifference, "the images should get different probabilities");
    }

    // ---- The builder's standard modules (what further architectures are made of) ------------------------------------

    [TestMethod]
    public void StandardModulesMatchTorchSharp()
    {
        manual_seed(18);
        using var block = nn.Sequential(
            nn.Conv2d(3, 12, 3, padding: 1, bias: true), nn.BatchNorm2d(12), nn.ReLU6(),      // conv with bias + folded BN
            nn.Conv2d(12, 12, 3, stride: 2, padding: 1, groups: 3, bias: false), nn.Hardswish(), // group conv
            nn.BatchNorm2d(12),                                                                  // BatchNormalization node
            nn.MaxPool2d(3, stride: 2, padding: 1, ceil_mode: true),
            nn.AvgPool2d(3, stride: 1, padding: 1),                                              // count_include_pad
            nn.AvgPool2d(3, stride: 1, padding: 1, count_include_pad: false),
            nn.Hardtanh(-1, 2), nn.ReLU(), nn.Sigmoid(), nn.Hardsigmoid(), nn.Dropout(0.3), nn.Identity(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(12, 5));
        foreach (var bn in block.modules().OfType<BatchNorm2d>())
            using (no_grad()) { bn.running_mean!.normal_(0, 0.3); bn.running_var!.uniform_(0.5, 1.5); bn.weight!.uniform_(0.5, 1.5); bn.bias!.normal_(0, 0.3); }
        block.eval();

        var graph = new OnnxGraphBuilder();
        string output = graph.Apply(block, graph.Claim("x"), "block");
        Assert.AreEqual(1, graph.Nodes.Count(n => n.OpType == "BatchNormalization"), "only the batch norm after an activation stays a node");
        using var x = randn(2, 3, 19, 19).mul(2);
        float[] expected;
        using (NewDisposeScope())
        using (no_grad())
        {
            var y = x; // module by module: TorchSharp's Sequential disposes what pass-through modules return
            foreach (var (_, module) in block.named_children()) y = ((nn.Module<Tensor, Tensor>)module).call(y);
            expected = y.data<float>().ToArray();
        }
        AssertClose(expected, RunGraph(graph, output, x, [-1, 5]));
    }

    [TestMethod]
    [DataRow(2)]
    [DataRow(3)]
    [DataRow(4)] // ShuffleNetV1's order at g = 3: ChannelShuffle(x, channels / g)
    public void ChannelShuffleMatchesShuffleNetV2s(int groups)
    {
        var graph = new OnnxGraphBuilder();
        string output = graph.ChannelShuffle(graph.Claim("x"), 12, groups, "shuffle");
        using var x = randn(2, 12, 5, 7);
        using var expected = ShuffleNetV2.ChannelShuffle(x, groups);
        AssertClose(expected.data<float>().ToArray(), RunGraph(graph, output, x, [-1, 12, 5, 7]));
    }

    /// <summary>Runs a builder's graph with input <c>x</c> (the shape of <paramref name="x"/>, batch dynamic) in ONNX Runtime.</summary>
    private static float[] RunGraph(OnnxGraphBuilder graph, string output, Tensor x, long[] outputShape)
    {
        object[] Dims(long[] shape) => shape.Select((d, i) => i == 0 ? "N" : (object)d).ToArray();
        var model = new OnnxModel
        {
            IrVersion = OnnxExport.IrVersion, OpsetVersion = OnnxExport.OpsetVersion, ProducerName = "test", ProducerVersion = "0",
            Graph = graph.ToGraph("test", [new OnnxValueInfo("x", OnnxDataType.Float, Dims(x.shape))],
                [new OnnxValueInfo(output, OnnxDataType.Float, Dims(outputShape))]),
        };
        using var stream = new MemoryStream();
        model.WriteTo(stream);
        using var session = new InferenceSession(stream.ToArray());
        using var value = OrtValue.CreateTensorValueFromMemory(x.data<float>().ToArray(), x.shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["x"], [value], [output]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    // ---- ML.NET: ApplyOnnxModel vs the trained transformer ---------------------------------------------------------

    [TestMethod]
    public void MLNetApplyOnnxModelMatchesScoreAndSurvivesSaveLoad()
    {
        string folder = TestData.NewTempFolder();
        string onnxPath = Path.Combine(folder, "fashion.onnx");
        _trained.ExportToOnnx(onnxPath);

        var expected = TrainedScores(_testImages);
        var pipeline = OnnxPipeline(onnxPath, MnistSize).Fit(_testImages);
        using var disposePipeline = pipeline as IDisposable;
        var actual = Pipelines.Scores(pipeline.Transform(_testImages), OnnxExport.OutputName);
        Assert.HasCount(12, actual);
        for (int i = 0; i < actual.Count; i++) AssertClose(expected[i], actual[i]);

        string zip = Path.Combine(folder, "pipeline.zip");
        _ml.Model.Save(pipeline, _testImages.Schema, zip);
        File.Delete(onnxPath); // the zip carries the ONNX model itself
        var loaded = _ml.Model.Load(zip, out var inputSchema);
        Assert.IsNotNull(inputSchema.GetColumnOrNull("ImagePath"));
        var reloaded = Pipelines.Scores(loaded.Transform(_testImages), OnnxExport.OutputName);
        Assert.HasCount(12, reloaded);
        for (int i = 0; i < reloaded.Count; i++) CollectionAssert.AreEqual(actual[i], reloaded[i]);
        (loaded as IDisposable)?.Dispose();
    }

    [TestMethod]
    public void MLNetExtractPixelsGivesRgbPlanesInTheOrderTheTrainerUses()
    {
        // Colour noise through a random RGB network: a swapped channel order or a wrong normalisation would show.
        using var classifier = RandomTransformer(channels: 3, seed: 17);
        string root = TestData.NewTempFolder();
        WriteNoisePngs(Path.Combine(root, "noise"), count: 4, MnistSize, seed: 31);
        var images = _ml.Data.LoadImagesFromFolder(root);
        string onnxPath = Path.Combine(root, "model.onnx");
        OnnxExport.Save(classifier, onnxPath);

        var expected = Scores(classifier, images);
        var pipeline = OnnxPipeline(onnxPath, MnistSize).Fit(images);
        using var disposePipeline = pipeline as IDisposable;
        var actual = Pipelines.Scores(pipeline.Transform(images), OnnxExport.OutputName);
        Assert.HasCount(4, actual);
        for (int i = 0; i < actual.Count; i++) AssertClose(expected[i], actual[i]);
        Assert.IsGreaterThan(1e-3f, expected.Select(p => p[0]).Max() - expected.Select(p => p[0]).Min(), "different images, different scores");
    }

    [TestMethod]
    public void MLNetGrayscaleModelTakesTheRedPlaneOfGreyImagesOrRgbWithGrayscaleFromRgb()
    {
        using var gray = RandomTransformer(channels: 1, seed: 15);
        string folder = TestData.NewTempFolder();

        // Grey plane input: on grey images (R = G = B) ExtractPixels' red plane is the grey level.
        string planePath = Path.Combine(folder, "plane.onnx");
        gray.ExportToOnnx(planePath);
        var expected = Scores(gray, _testImages);
        var red = OnnxPipeline(planePath, MnistSize, ImagePixelExtractingEstimator.ColorBits.Red).Fit(_testImages);
        using var disposeRed = red as IDisposable;
        var actual = Pipelines.Scores(red.Transform(_testImages), OnnxExport.OutputName);
        for (int i = 0; i < actual.Count; i++) AssertClose(expected[i], actual[i]);

        // RGB input with the luma in the graph: exact on colour images too, with ExtractPixels' defaults.
        string root = TestData.NewTempFolder();
        WriteNoisePngs(Path.Combine(root, "noise"), count: 3, MnistSize, seed: 32);
        var colour = _ml.Data.LoadImagesFromFolder(root);
        string rgbPath = Path.Combine(folder, "rgb.onnx");
        gray.ExportToOnnx(rgbPath, new OnnxExportOptions { GrayscaleFromRgb = true });
        var colourExpected = Scores(gray, colour);
        var rgb = OnnxPipeline(rgbPath, MnistSize).Fit(colour);
        using var disposeRgb = rgb as IDisposable;
        var colourActual = Pipelines.Scores(rgb.Transform(colour), OnnxExport.OutputName);
        Assert.HasCount(3, colourActual);
        for (int i = 0; i < colourActual.Count; i++) AssertClose(colourExpected[i], colourActual[i]);
    }

    // ---- The file itself -------------------------------------------------------------------------------------------

    [TestMethod]
    public void InputOutputShapesAndMetadataAreDeclared()
    {
        string path = Path.Combine(TestData.NewTempFolder(), "model.onnx");
        _trained.ExportToOnnx(path);
        using var session = new InferenceSession(path);
        var input = session.InputMetadata[OnnxExport.InputName];
        CollectionAssert.AreEqual(new[] { -1, 3, MnistSize, MnistSize }, input.Dimensions);
        Assert.AreEqual("N", input.SymbolicDimensions[0]);
        Assert.AreEqual(typeof(float), input.ElementType);
        var output = session.OutputMetadata[OnnxExport.OutputName];
        CollectionAssert.AreEqual(new[] { -1, 3 }, output.Dimensions);

        var metadata = session.ModelMetadata;
        Assert.AreEqual("Lightweight.ML", metadata.ProducerName);
        CollectionAssert.AreEqual(_trained.ClassNames.ToArray(), JsonSerializer.Deserialize<string[]>(metadata.CustomMetadataMap["class_names"]));
        Assert.AreEqual("ShuffleNetV2-0.5x", metadata.CustomMetadataMap["model_name"]);
        Assert.AreEqual("28", metadata.CustomMetadataMap["image_size"]);
        CollectionAssert.AreEqual(ImagePreprocessing.ImageNetStd.ToArray(), JsonSerializer.Deserialize<float[]>(metadata.CustomMetadataMap["std"]));
    }

    [TestMethod]
    public void PythonOnnxCheckerAcceptsTheExportedFiles()
    {
        const string python = "/usr/bin/python3";
        string why = "not found";
        if (!File.Exists(python) || RunProcess(python, "-c \"import onnx\"", out why) != 0)
            Assert.Inconclusive($"python onnx is not available here ({python} -c \"import onnx\": {why.Trim()}); " +
                                "install python3-onnx (apt) to run this check.");
        string folder = TestData.NewTempFolder();
        var files = new List<string> { Path.Combine(folder, "trained.onnx") };
        _trained.ExportToOnnx(files[0]);
        manual_seed(16);
        using (var ghost = new GhostNet(numClasses: 4, width: 1.0f, inChannels: 1, smallInput: false))
        {
            files.Add(Path.Combine(folder, "ghostnet.onnx"));
            OnnxExport.Save(ghost, new ImagePreprocessing(32, 1), files[^1], options: new OnnxExportOptions { GrayscaleFromRgb = true });
        }
        using (var shuffle = new ShuffleNetV2(ShuffleNetV2Size.X1_0, numClasses: 4))
        {
            files.Add(Path.Combine(folder, "shufflenet.onnx"));
            OnnxExport.Save(shuffle, new ImagePreprocessing(64, 3), files[^1]);
        }
        using (var mobile = new MobileNetV2(numClasses: 4, width: 0.5f, smallInput: true))
        {
            files.Add(Path.Combine(folder, "mobilenetv2.onnx"));
            OnnxExport.Save(mobile, new ImagePreprocessing(32, 3), files[^1]);
        }
        using (var shuffleV1 = new ShuffleNetV1(ShuffleNetV1Size.X0_5, groups: 3, numClasses: 4))
        {
            files.Add(Path.Combine(folder, "shufflenetv1.onnx"));
            OnnxExport.Save(shuffleV1, new ImagePreprocessing(64, 3), files[^1]);
        }
        string script = "import sys, onnx\n" +
                        "for p in sys.argv[1:]:\n" +
                        "    onnx.checker.check_model(p, full_check=True)\n" +
                        "    m = onnx.load(p)\n" +
                        "    print(p, m.ir_version, m.opset_import[0].version, len(m.graph.node))\n";
        string scriptPath = Path.Combine(folder, "check.py");
        File.WriteAllText(scriptPath, script);
        int code = RunProcess(python, $"\"{scriptPath}\" " + string.Join(" ", files.Select(f => $"\"{f}\"")), out var output);
        Assert.AreEqual(0, code, output);
        foreach (string file in files) StringAssert.Contains(output, $"{file} 7 {OnnxExport.OpsetVersion} ");
    }

    // ---- Failures --------------------------------------------------------------------------------------------------

    [TestMethod]
    public void UnsupportedModelThrowsNamingItAndLeavesTheFileAlone()
    {
        string folder = TestData.NewTempFolder();
        string path = Path.Combine(folder, "model.onnx");
        using var model = new TinyUnsupportedModel();
        var e = Assert.ThrowsExactly<NotSupportedException>(() => OnnxExport.Save(model, new ImagePreprocessing(16, 3), path));
        StringAssert.Contains(e.Message, nameof(TinyUnsupportedModel));
        Assert.IsFalse(File.Exists(path));

        File.WriteAllText(path, "previous");
        Assert.ThrowsExactly<NotSupportedException>(() => OnnxExport.Save(model, new ImagePreprocessing(16, 3), path));
        Assert.AreEqual("previous", File.ReadAllText(path));
        Assert.HasCount(1, Directory.GetFiles(folder), "no temporary file is left behind");
    }

    [TestMethod]
    public void UnsupportedModuleIsNamedWithItsPath()
    {
        var graph = new OnnxGraphBuilder();
        using var block = nn.Sequential(nn.Conv2d(3, 4, 3, padding: 1), nn.GELU());
        var e = Assert.ThrowsExactly<NotSupportedException>(() => graph.Apply(block, "x", "features.3"));
        StringAssert.Contains(e.Message, "'features.3.1'");
        StringAssert.Contains(e.Message, "GELU");
    }

    [TestMethod]
    public void BadArgumentsAndUnwritablePathsThrowClearly()
    {
        using var model = new ShuffleNetV2(ShuffleNetV2Size.X0_5, numClasses: 3);
        string folder = TestData.NewTempFolder();
        var channels = Assert.ThrowsExactly<ArgumentException>(() => OnnxExport.Save(model, new ImagePreprocessing(32, 1), Path.Combine(folder, "a.onnx")));
        Assert.AreEqual("preprocessing", channels.ParamName);
        var names = Assert.ThrowsExactly<ArgumentException>(() => OnnxExport.Save(model, new ImagePreprocessing(32, 3), Path.Combine(folder, "a.onnx"), ["x", "y"]));
        Assert.AreEqual("classNames", names.ParamName);
        Assert.ThrowsExactly<ArgumentException>(() => OnnxExport.Save(model, new ImagePreprocessing(32, 3), " "));

        string missing = Path.Combine(folder, "no-such-folder", "a.onnx");
        var io = Assert.ThrowsExactly<IOException>(() => OnnxExport.Save(model, new ImagePreprocessing(32, 3), missing));
        StringAssert.Contains(io.Message, missing);
        string directory = Directory.CreateDirectory(Path.Combine(folder, "taken.onnx")).FullName;
        var overDirectory = Assert.ThrowsExactly<IOException>(() => OnnxExport.Save(model, new ImagePreprocessing(32, 3), directory));
        StringAssert.Contains(overDirectory.Message, directory);
        Assert.HasCount(0, Directory.GetFiles(folder), "no temporary file is left behind");
    }

    /// <summary>An <see cref="ImageClassifierModel"/> the exporter does not know.</summary>
    private sealed class TinyUnsupportedModel : ImageClassifierModel
    {
        private readonly Linear head = nn.Linear(3, 2);

        public TinyUnsupportedModel() : base(nameof(TinyUnsupportedModel)) => RegisterComponents();
        public override int NumClasses => 2;
        public override int InChannels => 3;
        public override Tensor ForwardFeatures(Tensor x) => x.mean([2, 3]);
        public override Tensor ForwardHead(Tensor features) => head.call(features);
        public override void ResetClassifier(int numClasses) => throw new NotSupportedException();
    }

    // ---- Helpers ---------------------------------------------------------------------------------------------------

    /// <summary>LoadImages → ResizeImages → ExtractPixels (defaults unless <paramref name="colors"/>) → ApplyOnnxModel.</summary>
    private static IEstimator<ITransformer> OnnxPipeline(string onnxPath, int size,
        ImagePixelExtractingEstimator.ColorBits colors = ImagePixelExtractingEstimator.ColorBits.Rgb)
        => _ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
            .Append(_ml.Transforms.ResizeImages("Image", size, size))
            .Append(_ml.Transforms.ExtractPixels(OnnxExport.InputName, "Image", colorsToExtract: colors))
            .Append(_ml.Transforms.ApplyOnnxModel(OnnxExport.OutputName, OnnxExport.InputName, onnxPath));

    /// <summary>The trained transformer's Score column for images listed in <paramref name="data"/> (ImagePath column).</summary>
    private static List<float[]> TrainedScores(IDataView data) => Scores(_trained, data);

    private static List<float[]> Scores(ImageClassificationTransformer classifier, IDataView data)
    {
        var loaded = _ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath").Fit(data).Transform(data);
        return Pipelines.Scores(classifier.Transform(loaded));
    }

    private static float[] Run(InferenceSession session, float[] input, int n, int channels, int size)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, [n, channels, size, size]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [OnnxExport.InputName], [value], [OnnxExport.OutputName]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.HasCount(expected.Length, actual);
        float worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.IsLessThanOrEqualTo(Tolerance, worst,
            $"max |ONNX - TorchSharp| = {worst:G3}; expected [{string.Join(", ", expected.Take(6))}], got [{string.Join(", ", actual.Take(6))}]");
    }

    /// <summary>
    /// Makes a freshly initialised network a meaningful test subject: batch-norm statistics and affine parameters that
    /// are random (seeded) yet keep it well conditioned — the running statistics are first set to those of
    /// <paramref name="input"/>'s activations (one training-mode forward with momentum 1), then perturbed — and a
    /// classifier scaled so that the logits spread over a few units. Leaves the model in eval mode.
    /// </summary>
    internal static void Randomize(ImageClassifierModel model, Tensor input)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var norms = model.modules().OfType<BatchNorm2d>().ToList();
        foreach (var bn in norms) bn.momentum = 1.0;
        model.train();
        model.call(input);
        model.eval();
        foreach (var bn in norms)
        {
            long c = bn.num_features;
            bn.momentum = 0.1;
            bn.running_mean!.add_(randn(c).mul(bn.running_var!.sqrt()).mul(0.1));
            // A floor relative to the layer's own variance: no 1/√ε amplification of dead channels, yet layers whose
            // activations are small throughout (MobileNetV2's depthwise convs, about 0.01) keep their signal.
            double floor = 0.05 * bn.running_var!.mean().item<float>();
            bn.running_var!.clamp_min_(floor).mul_(rand(c).mul(0.5).add(0.8));
            bn.weight!.copy_(rand(c).add(0.5));
            bn.bias!.copy_(randn(c).mul(0.2));
        }
        var classifier = model.modules().OfType<Linear>().Last();
        double spread = model.call(input).std().item<float>();
        classifier.weight!.mul_(2 / spread);
        classifier.bias?.mul_(2 / spread); // ShuffleNetV1's classifier has none
    }

    /// <summary>A seeded random ShuffleNetV2 0.5× (<see cref="Randomize"/>d on noise) as a fitted transformer.</summary>
    private static ImageClassificationTransformer RandomTransformer(int channels, int seed)
    {
        manual_seed(seed);
        var model = new ShuffleNetV2(ShuffleNetV2Size.X0_5, numClasses: 3, inChannels: channels, smallInput: true);
        using (var noise = randn(8, channels, MnistSize, MnistSize)) Randomize(model, noise);
        return new ImageClassificationTransformer(model, "random", new ImagePreprocessing(MnistSize, channels),
            new ScoreColumns("Score", "PredictedLabel", ["a", "b", "c"], null), "Image", "ImagePath", batchSize: 8, CPU);
    }

    private static byte[][] RandomBgraImages(int count, int size, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var pixels = new byte[size * size * 4];
            random.NextBytes(pixels);
            for (int i = 3; i < pixels.Length; i += 4) pixels[i] = 255;
            return pixels;
        }).ToArray();
    }

    /// <summary>ExtractPixels' default layout from BGRA bytes: per image, the R plane, then G, then B, as 0–255 floats.</summary>
    private static float[] PlanarRgb(byte[][] images, int size)
    {
        int plane = size * size;
        var result = new float[images.Length * 3 * plane];
        for (int n = 0; n < images.Length; n++)
            for (int p = 0; p < plane; p++)
            {
                result[(n * 3 + 0) * plane + p] = images[n][4 * p + 2];
                result[(n * 3 + 1) * plane + p] = images[n][4 * p + 1];
                result[(n * 3 + 2) * plane + p] = images[n][4 * p + 0];
            }
        return result;
    }

    private static void WriteNoisePngs(string folder, int count, int size, int seed)
    {
        Directory.CreateDirectory(folder);
        var images = RandomBgraImages(count, size, seed);
        for (int i = 0; i < count; i++)
        {
            using var image = MLImage.CreateFromPixels(size, size, MLPixelFormat.Bgra32, images[i]);
            image.Save(Path.Combine(folder, $"{i:D2}.png"));
        }
    }

    private static int RunProcess(string file, string arguments, out string output)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        output += stderr.Result;
        return process.ExitCode;
    }
}

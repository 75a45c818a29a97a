using System.IO.Compression;
using Lightweight.ML.Tests.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lightweight.ML.Tests.Export;

/// <summary>One-file save/load of a whole fitted pipeline: ML.NET transforms before and after our classifier.</summary>
[TestClass]
public sealed class PipelineFileTests
{
    private static MLContext _ml = null!;
    private static IDataView _train = null!, _test = null!;
    private static ITransformer _model = null!;
    private static string _saved = null!;

    [ClassInitialize]
    public static void FitOnce(TestContext _)
    {
        _ml = new MLContext(seed: 1);
        _train = _ml.Data.LoadImagesFromFolder(TestData.Subset("train", classes: 3, perClass: 12));
        _test = _ml.Data.LoadImagesFromFolder(TestData.Subset("test", classes: 3, perClass: 6));
        _model = Pipelines.Build(_ml, _ml.MulticlassClassification.Trainers.ShuffleNetV2(Pipelines.Small(epochs: 2))).Fit(_train);
        _saved = Path.Combine(TestData.NewTempFolder(), "model.zip");
        _ml.Model.SavePipeline(_model, _train.Schema, _saved);
    }

    [ClassCleanup]
    public static void Cleanup() => Pipelines.Dispose(_model);

    private static List<string> Labels(IDataView scored)
        => scored.GetColumn<string>("PredictedLabel").ToList();

    [TestMethod]
    public void LoadedPipelineGivesIdenticalPredictionsInANewContext()
    {
        var ml = new MLContext(seed: 99);
        var loaded = ml.Model.LoadPipeline(_saved, out var schema);
        try
        {
            Assert.AreEqual(_train.Schema.Count, schema.Count);
            CollectionAssert.AreEqual(_train.Schema.Select(c => c.Name).ToList(), schema.Select(c => c.Name).ToList());
            var expected = Pipelines.Scores(_model.Transform(_test));
            var actual = Pipelines.Scores(loaded.Transform(_test));
            Assert.HasCount(expected.Count, actual);
            for (int i = 0; i < expected.Count; i++)
                CollectionAssert.AreEqual(expected[i], actual[i], $"row {i}: scores differ after save/load");
            CollectionAssert.AreEqual(Labels(_model.Transform(_test)), Labels(loaded.Transform(_test)));
            // MapKeyToValue after the classifier still restores the folder names, and Evaluate works on the loaded chain.
            CollectionAssert.IsSubsetOf(Labels(loaded.Transform(_test)).Distinct().ToList(), _test.GetColumn<string>("Label").Distinct().ToList());
            var metrics = ml.MulticlassClassification.Evaluate(loaded.Transform(_test));
            Assert.AreEqual(_ml.MulticlassClassification.Evaluate(_model.Transform(_test)).MicroAccuracy, metrics.MicroAccuracy, 1e-12);

            using var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(loaded);
            var p = engine.Predict(new ImageInput { ImagePath = FirstImage() });
            Assert.HasCount(3, p.Score);
            Assert.AreEqual(1.0, p.Score.Sum(), 1e-5);
        }
        finally
        {
            Pipelines.Dispose(loaded);
        }
    }

    private static string FirstImage() => _test.GetColumn<string>("ImagePath").First();

    [TestMethod]
    public void SavingAgainGivesTheSameEntriesAndAClassifierFirstPipelineKeepsItsInputSchema()
    {
        // A chain that starts with the classifier: the input schema still travels (in an empty ML.NET stage).
        var ml = new MLContext(seed: 1);
        var prepared = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")).Fit(_train).Transform(_train);
        using var classifier = ml.MulticlassClassification.Trainers.ShuffleNetV2(Pipelines.Small()).Fit(prepared);
        var path = Path.Combine(TestData.NewTempFolder(), "classifier-only.zip");
        ml.Model.SavePipeline(classifier, prepared.Schema, path);
        var loaded = ml.Model.LoadPipeline(path, out var schema);
        try
        {
            // The input schema comes back as ML.NET's own Save/Load gives it (which drops image-typed columns).
            using var reference = new MemoryStream();
            ml.Model.Save(new TransformerChain<ITransformer>(), prepared.Schema, reference);
            reference.Position = 0;
            ml.Model.Load(reference, out var expectedSchema);
            CollectionAssert.AreEqual(expectedSchema.Select(c => $"{c.Name}:{c.Type}").ToList(), schema.Select(c => $"{c.Name}:{c.Type}").ToList());
            Assert.IsNotNull(schema.GetColumnOrNull("ImagePath"));
            var steps = ((IEnumerable<ITransformer>)loaded).ToList();
            Assert.HasCount(1, steps);
            Assert.IsInstanceOfType<ImageClassificationTransformer>(steps[0]);
            CollectionAssert.AreEqual(Pipelines.Scores(classifier.Transform(prepared)).SelectMany(s => s).ToArray(),
                Pipelines.Scores(loaded.Transform(prepared)).SelectMany(s => s).ToArray());
        }
        finally
        {
            Pipelines.Dispose(loaded);
        }
        using var zip = ZipFile.OpenRead(_saved);
        CollectionAssert.IsSubsetOf(new[] { "lightweight-ml.json", "stages/0.mlnet.zip", "stages/1.json", "stages/1.safetensors", "stages/2.mlnet.zip" },
            zip.Entries.Select(e => e.FullName).ToList());
    }

    [TestMethod]
    public void NumericLabelsComeBackThroughMapKeyToValue()
    {
        var ml = new MLContext(seed: 1);
        var rows = _train.GetColumn<string>("ImagePath").Zip(_train.GetColumn<string>("Label"))
            .Select(r => new NumericRow { ImagePath = r.First, Label = (uint)(r.Second.Length * 10 + r.Second[^1]) }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = Pipelines.Build(ml, ml.MulticlassClassification.Trainers.ShuffleNetV2(Pipelines.Small())).Fit(data);
        var path = Path.Combine(TestData.NewTempFolder(), "numeric.zip");
        try
        {
            ml.Model.SavePipeline(model, data.Schema, path);
            var loaded = ml.Model.LoadPipeline(path, out _);
            try
            {
                var expected = model.Transform(data).GetColumn<uint>("PredictedLabel").ToList();
                CollectionAssert.AreEqual(expected, loaded.Transform(data).GetColumn<uint>("PredictedLabel").ToList());
                CollectionAssert.IsSubsetOf(expected.Distinct().ToList(), rows.Select(r => r.Label).Distinct().ToList());
            }
            finally { Pipelines.Dispose(loaded); }
        }
        finally { Pipelines.Dispose(model); }
    }

    private sealed class NumericRow
    {
        public string ImagePath { get; set; } = "";
        public uint Label { get; set; }
    }

    [TestMethod]
    public void EveryArchitectureIsDescribedAndRebuiltWithTheSameWeightShapes()
    {
        Lightweight.ML.Models.ImageClassifierModel[] models =
        [
            new Lightweight.ML.Models.ShuffleNetV2(ShuffleNetV2Size.X1_5, 7, 1, smallInput: true),
            new Lightweight.ML.Models.GhostNet(5, 0.5f, 3, smallInput: true, dropout: 0.1f),
            new Lightweight.ML.Models.MobileNetV2(4, 0.75f, 1, smallInput: true, dropout: 0.3f),
            new Lightweight.ML.Models.ShuffleNetV1(ShuffleNetV1Size.X0_5, 8, 6, 3, smallInput: false),
        ];
        foreach (var model in models)
        {
            using var _ = model;
            var spec = Lightweight.ML.Export.ModelArchitecture.Describe(model);
            using var rebuilt = Lightweight.ML.Export.ModelArchitecture.Create(
                (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(spec.ToJsonString())!, "test");
            Assert.AreEqual(model.GetType(), rebuilt.GetType());
            Assert.AreEqual(spec.ToJsonString(), Lightweight.ML.Export.ModelArchitecture.Describe(rebuilt).ToJsonString());
            var expected = model.state_dict().Select(kv => $"{kv.Key}:{string.Join("x", kv.Value.shape)}").ToList();
            CollectionAssert.AreEqual(expected, rebuilt.state_dict().Select(kv => $"{kv.Key}:{string.Join("x", kv.Value.shape)}").ToList(), spec.ToJsonString());
        }
    }

    [TestMethod]
    public void DamagedFilesGiveAClearExceptionNamingTheFile()
    {
        var dir = TestData.NewTempFolder();
        var bytes = File.ReadAllBytes(_saved);
        var cases = new List<(string Name, byte[] Content)>
        {
            ("empty.zip", []),
            ("truncated.zip", bytes[..(bytes.Length / 2)]),
            ("text.zip", "not a zip"u8.ToArray()),
            ("no-manifest.zip", Rewrite(bytes, drop: "lightweight-ml.json")),
            ("no-weights.zip", Rewrite(bytes, drop: "stages/1.safetensors")),
            ("bad-json.zip", Rewrite(bytes, replace: ("lightweight-ml.json", "{ not json"u8.ToArray()))),
            ("other-format.zip", Rewrite(bytes, replace: ("lightweight-ml.json", """{"format":"something else","version":1,"stages":[]}"""u8.ToArray()))),
            ("newer.zip", Rewrite(bytes, replace: ("lightweight-ml.json", """{"format":"Lightweight.ML pipeline","version":2,"stages":[]}"""u8.ToArray()))),
            ("bad-architecture.zip", Rewrite(bytes, edit: ("stages/1.json", s => s.Replace("\"ShuffleNetV2\"", "\"NoSuchNet\"")))),
            ("wrong-class-count.zip", Rewrite(bytes, edit: ("stages/1.json", s => s.Replace("\"numClasses\": 3", "\"numClasses\": 4")))),
            ("corrupt-weights.zip", Rewrite(bytes, replace: ("stages/1.safetensors", new byte[100]))),
            ("corrupt-mlnet.zip", Rewrite(bytes, replace: ("stages/0.mlnet.zip", "garbage"u8.ToArray()))),
        };
        foreach (var (name, content) in cases)
        {
            var path = Path.Combine(dir, name);
            File.WriteAllBytes(path, content);
            var e = Assert.ThrowsExactly<InvalidDataException>(() => _ml.Model.LoadPipeline(path, out _), name);
            StringAssert.Contains(e.Message, path, $"{name}: {e.Message}");
        }
        Assert.ThrowsExactly<FileNotFoundException>(() => _ml.Model.LoadPipeline(Path.Combine(dir, "missing.zip"), out _));
    }

    [TestMethod]
    public void AFailedSaveLeavesTheExistingFileIntact()
    {
        var path = Path.Combine(TestData.NewTempFolder(), "model.zip");
        File.Copy(_saved, path);
        var before = File.ReadAllBytes(path);
        var unsaveable = new TransformerChain<ITransformer>(((IEnumerable<ITransformer>)_model).Append(new NotSaveable()).ToArray());
        var e = Assert.ThrowsExactly<NotSupportedException>(() => _ml.Model.SavePipeline(unsaveable, _train.Schema, path));
        StringAssert.Contains(e.Message, nameof(NotSaveable));
        CollectionAssert.AreEqual(before, File.ReadAllBytes(path));
        Assert.HasCount(1, Directory.GetFiles(Path.GetDirectoryName(path)!), "no temporary file is left behind");
    }

    private sealed class NotSaveable : ITransformer
    {
        public bool IsRowToRowMapper => true;
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;
        public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => throw new NotSupportedException();
        public void Save(Microsoft.ML.ModelSaveContext ctx) => throw new NotSupportedException("cannot save");
        public IDataView Transform(IDataView input) => input;
    }

    /// <summary>A copy of the zip with one entry dropped, replaced or edited as text.</summary>
    private static byte[] Rewrite(byte[] zipBytes, string? drop = null, (string Name, byte[] Content)? replace = null,
        (string Name, Func<string, string> Edit)? edit = null)
    {
        using var output = new MemoryStream();
        using (var source = new ZipArchive(new MemoryStream(zipBytes), ZipArchiveMode.Read))
        using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var entry in source.Entries)
            {
                if (entry.FullName == drop) continue;
                using var input = entry.Open();
                using var buffer = new MemoryStream();
                input.CopyTo(buffer);
                var content = buffer.ToArray();
                if (replace is { } r && r.Name == entry.FullName) content = r.Content;
                if (edit is { } e && e.Name == entry.FullName) content = System.Text.Encoding.UTF8.GetBytes(e.Edit(System.Text.Encoding.UTF8.GetString(content)));
                using var s = target.CreateEntry(entry.FullName).Open();
                s.Write(content);
            }
        return output.ToArray();
    }
}

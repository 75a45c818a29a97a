using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lightweight.ML.MLNet;
using Lightweight.ML.Native;
using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace Lightweight.ML.Export;

/// <summary>
/// One zip file holding a whole fitted pipeline. ML.NET cannot serialise third-party transformers
/// (<c>ModelSaveContext</c> is internal, dotnet/machinelearning#4911), so the chain is cut at our transformers:
/// <list type="bullet">
/// <item>every run of ML.NET transformers (possibly empty) is saved by ML.NET's own <c>Model.Save</c> as a nested
/// entry <c>stages/N.mlnet.zip</c>, with the schema it sees — the first one carries the pipeline's input schema;</item>
/// <item>every <see cref="ImageClassificationTransformer"/> becomes <c>stages/N.json</c> (architecture, class names and
/// their key values, preprocessing, column names) plus <c>stages/N.safetensors</c> (the weights);</item>
/// <item><c>lightweight-ml.json</c> lists the stages in order, with the format name and version.</item>
/// </list>
/// Loading reads only data (JSON, safetensors, ML.NET's model format): no code runs from the file. Writes are atomic.
/// </summary>
internal static class PipelineFile
{
    public const string Format = "Lightweight.ML pipeline";
    public const int Version = 1;
    private const string ManifestEntry = "lightweight-ml.json";

    public static void Save(ModelOperationsCatalog catalog, ITransformer model, DataViewSchema inputSchema, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var steps = Flatten(model).ToList();

        // Segments: runs of ML.NET transformers between our classifiers; always start with an ML.NET run (maybe empty),
        // which stores the pipeline's input schema.
        var stages = new List<(List<ITransformer>? MLNet, ImageClassificationTransformer? Classifier, DataViewSchema Input)>();
        var schema = inputSchema;
        var run = new List<ITransformer>();
        var runInput = schema;
        foreach (var step in steps)
        {
            if (step is ImageClassificationTransformer classifier)
            {
                stages.Add((run, null, runInput));
                stages.Add((null, classifier, schema));
                run = [];
                schema = classifier.GetOutputSchema(schema);
                runInput = schema;
            }
            else
            {
                run.Add(step);
                schema = step.GetOutputSchema(schema);
            }
        }
        if (run.Count > 0 || stages.Count == 0) stages.Add((run, null, runInput));

        var manifest = new JsonArray();
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            for (int i = 0; i < stages.Count; i++)
            {
                var (mlnet, classifier, input) = stages[i];
                if (mlnet is not null)
                {
                    string entry = $"stages/{i}.mlnet.zip";
                    using (var s = zip.CreateEntry(entry, CompressionLevel.NoCompression).Open())
                        SaveMLNet(catalog, mlnet, input, s);
                    manifest.Add(new JsonObject { ["kind"] = "mlnet", ["entry"] = entry });
                }
                else
                {
                    string json = $"stages/{i}.json", weights = $"stages/{i}.safetensors";
                    using (var s = zip.CreateEntry(json).Open())
                    using (var w = new Utf8JsonWriter(s, new JsonWriterOptions { Indented = true }))
                        Describe(classifier!).WriteTo(w);
                    using (var s = zip.CreateEntry(weights, CompressionLevel.Fastest).Open())
                        WriteWeights(classifier!, s);
                    manifest.Add(new JsonObject { ["kind"] = "classifier", ["entry"] = json, ["weights"] = weights });
                }
            }
            using var m = zip.CreateEntry(ManifestEntry).Open();
            using var writer = new Utf8JsonWriter(m, new JsonWriterOptions { Indented = true });
            new JsonObject { ["format"] = Format, ["version"] = Version, ["stages"] = manifest }.WriteTo(writer);
        });
    }

    public static ITransformer Load(ModelOperationsCatalog catalog, string path, out DataViewSchema inputSchema)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Pipeline file '{path}' {(Directory.Exists(path) ? "is a directory, not a file" : "does not exist")}.", path);
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}' is not a Lightweight.ML pipeline file (not a valid zip: {e.Message}).", e);
        }
        var loaded = new List<ITransformer>();
        try
        {
            using (zip)
            {
                var manifest = ReadJson(zip, ManifestEntry, path);
                if ((string?)manifest["format"] != Format)
                    throw new InvalidDataException($"'{path}' is not a Lightweight.ML pipeline file (its {ManifestEntry} names format '{manifest["format"]}').");
                int version = manifest["version"]?.GetValueKind() == JsonValueKind.Number ? (int)manifest["version"]! : -1;
                if (version != Version)
                    throw new InvalidDataException($"'{path}' is a Lightweight.ML pipeline file of version {version}; this library reads version {Version}.");
                DataViewSchema? input = null;
                foreach (var stage in manifest["stages"]?.AsArray() ?? throw new InvalidDataException($"'{path}': {ManifestEntry} has no stages."))
                {
                    string kind = (string?)stage?["kind"] ?? "", entry = (string?)stage?["entry"] ?? "";
                    if (kind == "mlnet")
                    {
                        var chain = LoadMLNet(catalog, zip, entry, path, out var schema);
                        input ??= schema;
                        loaded.AddRange(Flatten(chain));
                    }
                    else if (kind == "classifier")
                        loaded.Add(LoadClassifier(zip, entry, (string?)stage!["weights"] ?? "", path));
                    else
                        throw new InvalidDataException($"'{path}': unknown stage kind '{kind}' in {ManifestEntry}.");
                }
                inputSchema = input ?? throw new InvalidDataException($"'{path}': {ManifestEntry} lists no ML.NET stage holding the input schema.");
            }
        }
        catch
        {
            foreach (var t in loaded.OfType<IDisposable>()) t.Dispose();
            throw;
        }
        return new TransformerChain<ITransformer>(loaded.ToArray());
    }

    /// <summary>The transformers of a fitted pipeline in order, nested chains expanded.</summary>
    internal static IEnumerable<ITransformer> Flatten(ITransformer model)
        => model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [model];

    private static void SaveMLNet(ModelOperationsCatalog catalog, List<ITransformer> run, DataViewSchema input, Stream destination)
    {
        using var buffer = new MemoryStream();
        try
        {
            catalog.Save(new TransformerChain<ITransformer>(run.ToArray()), input, buffer);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new NotSupportedException(
                $"ML.NET could not save the transformers [{string.Join(", ", run.Select(t => t.GetType().Name))}] of this pipeline: {e.Message}", e);
        }
        buffer.Position = 0;
        buffer.CopyTo(destination);
    }

    private static ITransformer LoadMLNet(ModelOperationsCatalog catalog, ZipArchive zip, string entry, string path, out DataViewSchema schema)
    {
        using var buffer = new MemoryStream(ReadEntry(zip, entry, path), writable: false);
        try
        {
            return catalog.Load(buffer, out schema);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"'{path}': ML.NET could not load stage '{entry}': {e.Message}", e);
        }
    }

    private static JsonObject Describe(ImageClassificationTransformer t)
    {
        var p = t.Preprocessing;
        var (keyType, keyValues) = KeyValuesOf(t.Outputs);
        return new JsonObject
        {
            ["modelName"] = t.ModelName,
            ["architecture"] = ModelArchitecture.Describe(t.Network),
            ["classNames"] = new JsonArray(t.ClassNames.Select(n => (JsonNode)n).ToArray()),
            ["keyValuesType"] = keyType,
            ["keyValues"] = keyValues is null ? null : new JsonArray(keyValues.Select(v => (JsonNode)v).ToArray()),
            ["preprocessing"] = new JsonObject
            {
                ["imageSize"] = p.ImageSize, ["channels"] = p.Channels, ["centerCropFraction"] = p.CenterCropFraction,
                ["mean"] = new JsonArray(p.Mean.Select(v => (JsonNode)v).ToArray()),
                ["std"] = new JsonArray(p.Std.Select(v => (JsonNode)v).ToArray()),
            },
            ["imageColumn"] = t.ImageColumnName,
            ["imagePathColumn"] = t.ImagePathColumnName,
            ["scoreColumn"] = t.Outputs.ScoreName,
            ["predictedLabelColumn"] = t.Outputs.PredictedLabelName,
            ["batchSize"] = t.BatchSize,
            ["scoringEngine"] = t.ScoringEngine.ToString(),
        };
    }

    private static void WriteWeights(ImageClassificationTransformer t, Stream destination)
    {
        string temp = Path.Combine(Path.GetTempPath(), $"lwml-{Guid.NewGuid():N}.safetensors");
        try
        {
            t.WithModel(model => ModelWeights.Save(model, temp));
            using var file = File.OpenRead(temp);
            file.CopyTo(destination);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static ImageClassificationTransformer LoadClassifier(ZipArchive zip, string entry, string weightsEntry, string path)
    {
        var d = ReadJson(zip, entry, path);
        string Where(string what) => $"'{path}' ({entry}): {what}";
        string temp = Path.Combine(Path.GetTempPath(), $"lwml-{Guid.NewGuid():N}.safetensors");
        ImagePreprocessing preprocessing;
        string[] classNames;
        try
        {
            var p = d["preprocessing"]!.AsObject();
            preprocessing = new ImagePreprocessing((int)p["imageSize"]!, (int)p["channels"]!,
                p["mean"]!.AsArray().Select(v => (float)v!).ToArray(), p["std"]!.AsArray().Select(v => (float)v!).ToArray(),
                (double)p["centerCropFraction"]!);
            classNames = d["classNames"]!.AsArray().Select(v => (string)v!).ToArray();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new InvalidDataException(Where($"invalid preprocessing or class names ({e.Message})."), e);
        }
        TorchRuntime.EnsureInitialized();
        var model = ModelArchitecture.Create(d["architecture"]?.AsObject() ?? throw new InvalidDataException(Where("no architecture.")), Where("architecture"));
        try
        {
            if (model.NumClasses != classNames.Length)
                throw new InvalidDataException(Where($"{classNames.Length} class names for a {model.NumClasses}-class model."));
            File.WriteAllBytes(temp, ReadEntry(zip, weightsEntry, path));
            try
            {
                ModelWeights.Load(model, temp);
            }
            catch (Exception e) when (e is InvalidDataException or WeightsMismatchException)
            {
                throw new InvalidDataException(Where($"the weights in '{weightsEntry}' do not load: {e.Message}"), e);
            }
            var annotations = KeyValuesAnnotations((string?)d["keyValuesType"], d["keyValues"]?.AsArray(), Where);
            var outputs = new ScoreColumns((string?)d["scoreColumn"] ?? "Score", (string?)d["predictedLabelColumn"] ?? "PredictedLabel",
                classNames, annotations);
            return new ImageClassificationTransformer(model, (string?)d["modelName"] ?? model.GetType().Name, preprocessing, outputs,
                (string?)d["imageColumn"] ?? "Image", (string?)d["imagePathColumn"], (int?)d["batchSize"] ?? 64, CPU)
            {
                ScoringEngine = ScoringEngineOf((string?)d["scoringEngine"], Where),
            };
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static ZipArchiveEntry Entry(ZipArchive zip, string name, string path)
        => zip.GetEntry(name) ?? throw new InvalidDataException($"'{path}' is incomplete: entry '{name}' is missing.");

    /// <summary>
    /// The content of an entry, checked against the size and CRC-32 the zip records for it (.NET does not check them), so
    /// damage inside an entry is reported instead of loading a silently different model.
    /// </summary>
    private static byte[] ReadEntry(ZipArchive zip, string name, string path)
    {
        var entry = Entry(zip, name, path);
        if (entry.Length > MaxEntryBytes)
            throw new InvalidDataException($"'{path}' is damaged: entry '{name}' claims {entry.Length:N0} bytes, more than the {MaxEntryBytes:N0}-byte limit.");
        using var content = new MemoryStream();
        try
        {
            // Read at most one byte more than recorded: a forged size can neither allocate memory up front nor let a
            // decompression bomb run on.
            using var s = entry.Open();
            var buffer = new byte[1 << 16];
            for (int read; content.Length <= entry.Length && (read = s.Read(buffer, 0, (int)Math.Min(buffer.Length, entry.Length + 1 - content.Length))) > 0;)
                content.Write(buffer, 0, read);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            throw new InvalidDataException($"'{path}' is damaged: entry '{name}' cannot be read ({e.Message}).", e);
        }
        if (content.Length != entry.Length)
            throw new InvalidDataException($"'{path}' is damaged: entry '{name}' holds {(content.Length > entry.Length ? "more" : $"{content.Length:N0}")} " +
                                           $"bytes, not the {entry.Length:N0} its zip record says.");
        var bytes = content.ToArray();
        if (Crc32.Compute(bytes) != entry.Crc32)
            throw new InvalidDataException($"'{path}' is damaged: entry '{name}' fails its CRC-32 check.");
        return bytes;
    }

    /// <summary>Largest entry read (a model's weights are tens of megabytes; a forged size must not allocate gigabytes).</summary>
    private const long MaxEntryBytes = 1L << 30;

    private static JsonObject ReadJson(ZipArchive zip, string name, string path)
    {
        try
        {
            return JsonNode.Parse(ReadEntry(zip, name, path))?.AsObject() ?? throw new InvalidDataException($"'{path}': '{name}' is empty.");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"'{path}': '{name}' is not valid JSON ({e.Message}).", e);
        }
    }

    // ---- the label's KeyValues annotation (copied onto PredictedLabel so MapKeyToValue restores the original labels) ----

    private static readonly Dictionary<string, PrimitiveDataViewType> KeyValueTypes = new()
    {
        ["Text"] = TextDataViewType.Instance, ["Single"] = NumberDataViewType.Single, ["Double"] = NumberDataViewType.Double,
        ["Int32"] = NumberDataViewType.Int32, ["Int64"] = NumberDataViewType.Int64, ["UInt32"] = NumberDataViewType.UInt32,
        ["UInt64"] = NumberDataViewType.UInt64, ["Int16"] = NumberDataViewType.Int16, ["UInt16"] = NumberDataViewType.UInt16,
        ["Byte"] = NumberDataViewType.Byte, ["SByte"] = NumberDataViewType.SByte, ["Boolean"] = BooleanDataViewType.Instance,
    };

    private static (string? Type, string[]? Values) KeyValuesOf(ScoreColumns outputs)
    {
        var annotations = outputs.LabelAnnotations;
        var column = annotations?.Schema.GetColumnOrNull(ScoreColumns.KeyValues);
        if (column?.Type is not VectorDataViewType { ItemType: PrimitiveDataViewType item }) return (null, null);
        string? name = KeyValueTypes.FirstOrDefault(kv => kv.Value.Equals(item)).Key;
        if (name is null)
            throw new NotSupportedException($"The label's key values have type {item}; saving supports {string.Join(", ", KeyValueTypes.Keys)}.");
        var values = (string[])typeof(PipelineFile).GetMethod(nameof(ReadKeyValues), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(item.RawType == typeof(ReadOnlyMemory<char>) ? typeof(ReadOnlyMemory<char>) : item.RawType)
            .Invoke(null, [annotations!, column.Value])!;
        return (name, values);
    }

    private static string[] ReadKeyValues<T>(DataViewSchema.Annotations annotations, DataViewSchema.Column column)
    {
        VBuffer<T> buffer = default;
        annotations.GetValue(column.Name, ref buffer);
        return buffer.DenseValues().Select(v => v is ReadOnlyMemory<char> text ? text.ToString()
            : Convert.ToString(v, CultureInfo.InvariantCulture) ?? "").ToArray();
    }

    /// <summary>The saved scoring engine; files written before it was saved score with <see cref="ScoringEngine.Auto"/>.</summary>
    private static ScoringEngine ScoringEngineOf(string? saved, Func<string, string> where)
        => saved is null ? ScoringEngine.Auto
            : Enum.TryParse<ScoringEngine>(saved, ignoreCase: false, out var engine) && Enum.IsDefined(engine) && !int.TryParse(saved, out _) ? engine
            : throw new InvalidDataException(where($"unknown scoring engine '{saved}'."));

    private static DataViewSchema.Annotations? KeyValuesAnnotations(string? type, JsonArray? values, Func<string, string> where)
    {
        if (type is null || values is null) return null;
        if (!KeyValueTypes.TryGetValue(type, out var item))
            throw new InvalidDataException(where($"unknown key values type '{type}'."));
        var text = values.Select(v => (string?)v ?? "").ToArray();
        return (DataViewSchema.Annotations)typeof(PipelineFile).GetMethod(nameof(BuildKeyValues), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(item.RawType).Invoke(null, [item, text])!;
    }

    private static DataViewSchema.Annotations BuildKeyValues<T>(PrimitiveDataViewType item, string[] text)
    {
        var values = text.Select(s => typeof(T) == typeof(ReadOnlyMemory<char>) ? (T)(object)s.AsMemory()
            : (T)Convert.ChangeType(s, typeof(T), CultureInfo.InvariantCulture)).ToArray();
        var builder = new DataViewSchema.Annotations.Builder();
        builder.Add(ScoreColumns.KeyValues, new VectorDataViewType(item, values.Length), (ref VBuffer<T> v) => v = new VBuffer<T>(values.Length, (T[])values.Clone()));
        return builder.ToAnnotations();
    }
}

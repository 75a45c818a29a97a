using System.Globalization;
using Lightweight.ML.Export;
using Lightweight.ML.Models;
using static TorchSharp.torch;

namespace Lightweight.ML;

/// <summary>
/// Saves and loads the weights of an <see cref="ImageClassifierModel"/> — its state_dict: every parameter and buffer,
/// batch-norm <c>running_mean</c>/<c>running_var</c>/<c>num_batches_tracked</c> included — under the torchvision/timm key
/// names, so files interchange with PyTorch (<c>model.load_state_dict(safetensors.torch.load_file(path))</c>).
/// <list type="bullet">
/// <item><c>.safetensors</c> files: Hugging Face's safetensors (see <see cref="Safetensors"/>); floats stored in any of
/// F32/F16/BF16/F64 are converted to the model's element type.</item>
/// <item>any other extension (<c>.dat</c> by convention): TorchSharp's own <c>Module.save</c> format, read and written
/// byte-for-byte as TorchSharp does, so <c>module.load(path)</c> reads what <see cref="Save"/> writes and vice versa.</item>
/// </list>
/// Loading checks the whole file and its fit to the model before changing anything: a corrupt file throws an
/// <see cref="InvalidDataException"/> naming the file, a file for another architecture or class count a
/// <see cref="WeightsMismatchException"/> listing the missing, unexpected and mismatched keys. Loading never executes code.
/// </summary>
public static class ModelWeights
{
    /// <summary>Metadata key holding the model's class name in files written by <see cref="Save"/>.</summary>
    public const string ArchitectureKey = "lightweight_ml.architecture";

    private const int ListedKeys = 8;

    /// <summary>
    /// Writes the model's state_dict atomically (temporary file in the same folder, flushed, then moved over
    /// <paramref name="path"/>): safetensors for a <c>.safetensors</c> path — keys in ordinal order, element types as the
    /// model holds them, <c>__metadata__</c> with <c>format</c> = <c>pt</c>, the architecture, class and channel counts,
    /// plus <paramref name="metadata"/> — otherwise TorchSharp's <c>Module.save</c> format. The same weights always give
    /// the same bytes.
    /// </summary>
    /// <param name="model">The model; on any device.</param>
    /// <param name="path">Target file; its folder is created if missing.</param>
    /// <param name="metadata">Extra safetensors metadata (ignored for TorchSharp files); overrides the defaults above.</param>
    public static void Save(ImageClassifierModel model, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (WeightsFileIndex.IsSafetensorsPath(path))
        {
            var all = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["format"] = "pt",
                [ArchitectureKey] = model.GetType().Name,
                ["lightweight_ml.num_classes"] = model.NumClasses.ToString(CultureInfo.InvariantCulture),
                ["lightweight_ml.in_channels"] = model.InChannels.ToString(CultureInfo.InvariantCulture),
            };
            if (metadata is not null)
                foreach (var (key, value) in metadata) all[key] = value;
            var state = model.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal);
            Safetensors.Save(path, state, all);
        }
        else
        {
            AtomicFile.Write(path, stream =>
            {
                using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
                model.save(writer);
                writer.Flush();
            });
        }
    }

    /// <summary>Loads weights written by <see cref="Save"/>, PyTorch (safetensors) or TorchSharp into <paramref name="model"/>.</summary>
    /// <param name="model">The model to fill; it must already have the file's architecture (and, in strict mode, class count).</param>
    /// <param name="path">A <c>.safetensors</c> file, or a TorchSharp <c>Module.save</c> file.</param>
    /// <param name="mode">Whether the classifier must match, is skipped, or is loaded only when its shape matches.</param>
    /// <returns>Which keys were loaded, kept and ignored.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist, or is a directory.</exception>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated or not in a supported format.</exception>
    /// <exception cref="WeightsMismatchException">The file does not fit the model; the model is unchanged.</exception>
    public static WeightsLoadResult Load(ImageClassifierModel model, string path, WeightsLoadMode mode = WeightsLoadMode.Strict)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!Enum.IsDefined(mode))
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown weights load mode.");
        var index = WeightsFileIndex.Open(path);
        var state = model.state_dict();
        string? classifier = mode == WeightsLoadMode.Strict ? null : ClassifierHead.Find(model);

        bool loadClassifier = classifier is null || mode == WeightsLoadMode.ClassifierWhenShapesMatch &&
            state.Where(kv => ClassifierHead.Owns(classifier, kv.Key)).All(kv => Fits(index, kv.Key, kv.Value)) &&
            index.Entries.Where(e => ClassifierHead.Owns(classifier, e.Name)).All(e => state.ContainsKey(e.Name));
        bool Skipped(string key) => !loadClassifier && ClassifierHead.Owns(classifier!, key);

        var plan = new List<(TensorEntry Entry, Tensor Target)>();
        var kept = new List<string>();
        var missing = new List<string>();
        var mismatched = new List<string>();
        var mismatchedKeys = new List<string>();
        foreach (var (key, target) in state)
        {
            if (Skipped(key))
                kept.Add(key);
            else if (!index.ByName.TryGetValue(key, out var entry))
                (key.EndsWith(".num_batches_tracked", StringComparison.Ordinal) ? kept : missing).Add(key);
            else if (!entry.Shape.SequenceEqual(target.shape) || !entry.DType.CanLoadInto(target.dtype))
            {
                mismatched.Add($"{key}: file {entry.ShapeText} {entry.DType.Name}, model {TensorEntry.FormatShape(target.shape)} {target.dtype}");
                mismatchedKeys.Add(key);
            }
            else
                plan.Add((entry, target));
        }
        var ignored = index.Entries.Where(e => Skipped(e.Name)).Select(e => e.Name).ToList();
        var unexpected = index.Entries.Where(e => !state.ContainsKey(e.Name) && !Skipped(e.Name)).Select(e => e.Name).ToList();
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
            throw Mismatch(model, index, classifier ?? ClassifierHead.TryFind(model), missing, unexpected, mismatched, mismatchedKeys);

        using (no_grad())
        using (var file = index.OpenData())
        {
            foreach (var (entry, target) in plan)
            {
                using var source = index.Read(file, entry);
                target.copy_(source);
            }
        }
        return new WeightsLoadResult(plan.Select(p => p.Entry.Name).ToList(), kept, ignored, loadClassifier, index.Metadata);
    }

    private static bool Fits(WeightsFileIndex index, string key, Tensor target)
        => index.ByName.TryGetValue(key, out var entry) && entry.Shape.SequenceEqual(target.shape) && entry.DType.CanLoadInto(target.dtype);

    private static WeightsMismatchException Mismatch(ImageClassifierModel model, WeightsFileIndex index, string? classifier,
        List<string> missing, List<string> unexpected, List<string> mismatched, List<string> mismatchedKeys)
    {
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"{missing.Count} key(s) of the model missing from the file: {List(missing)}");
        if (unexpected.Count > 0) parts.Add($"{unexpected.Count} key(s) in the file that the model does not have: {List(unexpected)}");
        if (mismatched.Count > 0) parts.Add($"{mismatched.Count} tensor(s) of another shape or type: {List(mismatched)}");
        var message = $"Weights file '{index.Path}' does not fit this {model.GetType().Name} ({model.NumClasses} classes, " +
                      $"{model.InChannels} input channel(s)): {string.Join("; ", parts)}. Nothing was loaded.";
        if (index.Metadata.TryGetValue(ArchitectureKey, out var architecture) && architecture != model.GetType().Name)
            message += $" The file was saved from a {architecture}.";
        if (classifier is not null && missing.Concat(unexpected).Concat(mismatchedKeys).All(key => ClassifierHead.Owns(classifier, key)))
            message += $" Only the classifier ('{classifier}') differs: load with WeightsLoadMode.SkipClassifier to keep the model's own " +
                       "classifier (fine-tuning on other classes).";
        return new WeightsMismatchException(message, index.Path, missing, unexpected, mismatched);
    }

    private static string List(List<string> items)
        => string.Join(", ", items.Take(ListedKeys)) + (items.Count > ListedKeys ? $", … ({items.Count - ListedKeys} more)" : "");
}

namespace Lightweight.ML;

/// <summary>What <see cref="ModelWeights.Load"/> did.</summary>
public sealed class WeightsLoadResult
{
    internal WeightsLoadResult(IReadOnlyList<string> loaded, IReadOnlyList<string> kept, IReadOnlyList<string> ignored,
        bool classifierLoaded, IReadOnlyDictionary<string, string> metadata)
    {
        LoadedKeys = loaded;
        KeptKeys = kept;
        IgnoredFileKeys = ignored;
        ClassifierLoaded = classifierLoaded;
        Metadata = metadata;
    }

    /// <summary>Model parameters and buffers whose values now come from the file.</summary>
    public IReadOnlyList<string> LoadedKeys { get; }

    /// <summary>Model parameters and buffers left as they were (the classifier when it was skipped; a missing <c>num_batches_tracked</c>).</summary>
    public IReadOnlyList<string> KeptKeys { get; }

    /// <summary>File entries not used (the file's classifier when it was skipped).</summary>
    public IReadOnlyList<string> IgnoredFileKeys { get; }

    /// <summary>Whether the classifier was loaded from the file (always true in <see cref="WeightsLoadMode.Strict"/> mode).</summary>
    public bool ClassifierLoaded { get; }

    /// <summary>The file's safetensors <c>__metadata__</c> (empty for TorchSharp files).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
}

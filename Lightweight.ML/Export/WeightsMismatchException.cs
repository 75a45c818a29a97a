namespace Lightweight.ML;

/// <summary>
/// A readable weights file that does not fit the model: keys missing from the file, keys the model does not have, or
/// tensors of another shape or element type (for a corrupt file, <see cref="ModelWeights.Load"/> throws an
/// <see cref="InvalidDataException"/> instead). The message lists them; nothing was loaded into the model.
/// </summary>
public sealed class WeightsMismatchException : Exception
{
    internal WeightsMismatchException(string message, string path, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
        IReadOnlyList<string> mismatched) : base(message)
    {
        FilePath = path;
        MissingKeys = missing;
        UnexpectedKeys = unexpected;
        Mismatches = mismatched;
    }

    /// <summary>The weights file.</summary>
    public string FilePath { get; }

    /// <summary>Model parameters and buffers the file lacks.</summary>
    public IReadOnlyList<string> MissingKeys { get; }

    /// <summary>File entries the model does not have.</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }

    /// <summary>Entries present in both whose shape or element type differ, as <c>key: file [..] F32, model [..] Float32</c>.</summary>
    public IReadOnlyList<string> Mismatches { get; }
}

using Lightweight.ML.Models;
using TorchSharp.Modules;

namespace Lightweight.ML.Export;

/// <summary>
/// Finds the classifier of a model — the module <see cref="ImageClassifierModel.ResetClassifier"/> replaces — by its
/// shape: the <see cref="Linear"/> layer with <see cref="ImageClassifierModel.NumClasses"/> outputs nearest the root
/// (<c>fc</c> in ShuffleNetV2, <c>classifier</c> in GhostNet, <c>classifier.1</c> in torchvision's MobileNetV2).
/// </summary>
internal static class ClassifierHead
{
    /// <summary>The classifier's module path, e.g. <c>fc</c>.</summary>
    /// <exception cref="InvalidOperationException">The model has no such layer.</exception>
    public static string Find(ImageClassifierModel model)
        => TryFind(model) ?? throw new InvalidOperationException(
            $"{model.GetType().Name} has no Linear layer with {model.NumClasses} outputs to treat as its classifier.");

    /// <summary>The classifier's module path, or <c>null</c> when the model has no such layer.</summary>
    public static string? TryFind(ImageClassifierModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        string? best = null;
        foreach (var (name, module) in model.named_modules())
        {
            if (module is Linear linear && linear.out_features == model.NumClasses &&
                (best is null || Depth(name) <= Depth(best)))
                best = name;
        }
        return best;
    }

    /// <summary>Whether a state_dict key belongs to the classifier at <paramref name="classifier"/>.</summary>
    public static bool Owns(string classifier, string key)
        => key.Length > classifier.Length && key[classifier.Length] == '.' && key.StartsWith(classifier, StringComparison.Ordinal);

    private static int Depth(string name) => name.Count(c => c == '.');
}

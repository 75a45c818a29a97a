namespace Lightweight.ML;

/// <summary>How <see cref="ModelWeights.Load"/> matches a weights file against a model.</summary>
public enum WeightsLoadMode
{
    /// <summary>
    /// Every parameter and buffer of the model must be in the file, with the same shape, and the file must hold nothing
    /// else (PyTorch's <c>load_state_dict(strict=True)</c>). Only a missing <c>num_batches_tracked</c> is tolerated (older
    /// PyTorch files lack it; it does not affect the outputs).
    /// </summary>
    Strict,

    /// <summary>
    /// As <see cref="Strict"/> for everything except the classifier: the file's classifier entries (whatever their shape)
    /// are ignored and the model keeps its own classifier — for fine-tuning on other classes.
    /// </summary>
    SkipClassifier,

    /// <summary>
    /// As <see cref="SkipClassifier"/>, but the classifier is loaded too when the file's has exactly the model's shapes
    /// (same number of classes). This is what the trainers' <c>PretrainedWeights</c> option does.
    /// </summary>
    ClassifierWhenShapesMatch,
}

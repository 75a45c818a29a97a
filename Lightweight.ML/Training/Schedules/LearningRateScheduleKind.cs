namespace Lightweight.ML;

/// <summary>
/// How the learning rate moves during training. Every kind is evaluated per optimizer step and starts with the linear
/// warm-up of the trainer (from peak / warm-up steps up to the peak), except <see cref="OneCycle"/>, whose first phase
/// is its own warm-up. The parameters live in <see cref="LearningRateScheduleOptions"/>.
/// </summary>
public enum LearningRateScheduleKind
{
    /// <summary>Cosine decay from the peak to 0 over the steps after warm-up (SGDR without restarts). The default.</summary>
    Cosine,

    /// <summary>Linear decay from the peak to 0 over the steps after warm-up.</summary>
    Linear,

    /// <summary>
    /// The peak multiplied by <see cref="LearningRateScheduleOptions.Gamma"/> every
    /// <see cref="LearningRateScheduleOptions.StepEpochs"/> epochs (PyTorch's <c>StepLR</c>).
    /// </summary>
    Step,

    /// <summary>
    /// The peak multiplied by <see cref="LearningRateScheduleOptions.Gamma"/> at each epoch of
    /// <see cref="LearningRateScheduleOptions.Milestones"/> (PyTorch's <c>MultiStepLR</c>).
    /// </summary>
    MultiStep,

    /// <summary>
    /// PyTorch's <c>OneCycleLR</c> with cosine annealing: from peak / <see cref="LearningRateScheduleOptions.OneCycleDivFactor"/>
    /// up to the peak, then down to that start / <see cref="LearningRateScheduleOptions.OneCycleFinalDivFactor"/>.
    /// The rising phase takes the warm-up steps when there are any, else
    /// <see cref="LearningRateScheduleOptions.OneCyclePctStart"/> of all steps.
    /// </summary>
    OneCycle,

    /// <summary>
    /// PyTorch's <c>ReduceLROnPlateau</c>, checked once per epoch: the rate is multiplied by
    /// <see cref="LearningRateScheduleOptions.PlateauFactor"/> when the metric chosen by
    /// <see cref="LearningRateScheduleOptions.PlateauMetric"/> has not improved for more than
    /// <see cref="LearningRateScheduleOptions.PlateauPatience"/> epochs. Without a validation set the training loss is used.
    /// </summary>
    ReduceOnPlateau,
}

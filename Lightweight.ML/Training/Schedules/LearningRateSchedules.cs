namespace Lightweight.ML.Training;

/// <summary>Makes the <see cref="ILearningRateSchedule"/> of a <see cref="LearningRateScheduleOptions"/>.</summary>
internal static class LearningRateSchedules
{
    /// <summary>Builds the schedule for a run of <paramref name="epochs"/> × <paramref name="stepsPerEpoch"/> optimizer steps.</summary>
    /// <param name="options">The kind and its parameters; validated here.</param>
    /// <param name="peakLr">The peak rate reached at the end of warm-up; positive and finite.</param>
    /// <param name="stepsPerEpoch">Optimizer steps per epoch; at least 1.</param>
    /// <param name="epochs">Epochs of the run; at least 1.</param>
    /// <param name="warmupSteps">Steps of linear warm-up (for OneCycle: of its rising phase); in [0, total steps).</param>
    /// <param name="hasValidationSet">
    /// Whether <see cref="ILearningRateSchedule.OnEpochEnd"/> will get validation metrics. For ReduceOnPlateau without
    /// one the training loss is watched (lower is better) whatever <see cref="LearningRateScheduleOptions.PlateauMetric"/> says.
    /// </param>
    public static ILearningRateSchedule Create(LearningRateScheduleOptions options, double peakLr, long stepsPerEpoch,
        int epochs, long warmupSteps, bool hasValidationSet)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!(peakLr > 0 && double.IsFinite(peakLr)))
            throw new ArgumentOutOfRangeException(nameof(peakLr), peakLr, "The peak learning rate must be positive and finite.");
        if (stepsPerEpoch < 1)
            throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), stepsPerEpoch, "There must be at least 1 step per epoch.");
        if (epochs < 1)
            throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "There must be at least 1 epoch.");
        long total = stepsPerEpoch * epochs;
        if (warmupSteps < 0 || warmupSteps >= total)
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, $"Warm-up steps must be in [0, {total}) for {epochs} epoch(s) of {stepsPerEpoch} step(s).");

        var o = options;
        return o.Kind switch
        {
            LearningRateScheduleKind.Cosine => new CosineDecaySchedule(peakLr, stepsPerEpoch, total, warmupSteps),
            LearningRateScheduleKind.Linear => new LinearDecaySchedule(peakLr, stepsPerEpoch, total, warmupSteps),
            LearningRateScheduleKind.Step => new StepDecaySchedule(peakLr, stepsPerEpoch, total, warmupSteps, o.Gamma, o.StepEpochs),
            LearningRateScheduleKind.MultiStep => new MultiStepDecaySchedule(peakLr, stepsPerEpoch, total, warmupSteps, o.Gamma, o.Milestones),
            LearningRateScheduleKind.OneCycle => new OneCycleSchedule(peakLr, stepsPerEpoch, total, warmupSteps,
                o.OneCyclePctStart, o.OneCycleDivFactor, o.OneCycleFinalDivFactor),
            LearningRateScheduleKind.ReduceOnPlateau => new PlateauSchedule(peakLr, warmupSteps,
                maximize: hasValidationSet && o.PlateauMetric == PlateauMetric.ValidationAccuracy,
                o.PlateauFactor, o.PlateauPatience, o.PlateauThreshold, o.PlateauCooldown, o.PlateauMinLearningRate),
            _ => throw new ArgumentOutOfRangeException(nameof(options), o.Kind, "Unknown learning-rate schedule."),
        };
    }

    /// <summary>
    /// The metric to pass to <see cref="ILearningRateSchedule.OnEpochEnd"/>: the validation accuracy or loss chosen by
    /// <see cref="LearningRateScheduleOptions.PlateauMetric"/>, or the epoch's mean training loss without a validation set.
    /// </summary>
    public static double EpochMetric(LearningRateScheduleOptions options, double trainingLoss, (double Loss, double Accuracy)? validation)
        => validation is not { } v ? trainingLoss
            : options.PlateauMetric == PlateauMetric.ValidationLoss ? v.Loss : v.Accuracy;

    /// <summary>Linear warm-up factor: (s + 1) / W for steps s &lt; W, else 1.</summary>
    public static double WarmupFactor(long step, long warmupSteps)
        => step < warmupSteps ? (double)(step + 1) / warmupSteps : 1.0;
}

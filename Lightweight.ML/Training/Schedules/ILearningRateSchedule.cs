namespace Lightweight.ML.Training;

/// <summary>
/// A learning-rate schedule stepped per optimizer step, made by <see cref="LearningRateSchedules.Create"/>.
/// Call <see cref="At"/> before every optimizer step and <see cref="OnEpochEnd"/> after every epoch.
/// </summary>
internal interface ILearningRateSchedule
{
    /// <summary>
    /// The learning rate of optimizer step <paramref name="step"/> (from 0 over the whole run). A pure function of the
    /// step except for <see cref="LearningRateScheduleKind.ReduceOnPlateau"/>, which also depends on the epochs seen.
    /// </summary>
    double At(long step);

    /// <summary>
    /// Reports the metric of epoch <paramref name="epoch"/> (from 1, increasing), as chosen by
    /// <see cref="LearningRateSchedules.EpochMetric"/>. Only <see cref="LearningRateScheduleKind.ReduceOnPlateau"/> uses it.
    /// </summary>
    void OnEpochEnd(int epoch, double metric);

    /// <summary>The mutable state, for a checkpoint: empty for the kinds that are pure functions of the step.</summary>
    double[] State { get; }

    /// <summary>Puts back a <see cref="State"/> taken from a schedule made with the same arguments.</summary>
    /// <exception cref="ArgumentException">The array does not have this schedule's length or holds invalid values.</exception>
    void Restore(double[] state);
}

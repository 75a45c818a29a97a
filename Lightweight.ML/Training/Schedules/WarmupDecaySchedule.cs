namespace Lightweight.ML.Training;

/// <summary>
/// Base of the schedules that are pure functions of the step: the rate is warm-up factor × <see cref="Decay"/>, with the
/// factor (s + 1) / W for steps s &lt; W and 1 afterwards. Stateless, so <see cref="State"/> is empty.
/// </summary>
internal abstract class WarmupDecaySchedule : ILearningRateSchedule
{
    protected WarmupDecaySchedule(double peak, long stepsPerEpoch, long totalSteps, long warmupSteps)
        => (Peak, StepsPerEpoch, TotalSteps, WarmupSteps) = (peak, stepsPerEpoch, totalSteps, warmupSteps);

    protected double Peak { get; }
    protected long StepsPerEpoch { get; }
    protected long TotalSteps { get; }
    protected long WarmupSteps { get; }

    /// <inheritdoc/>
    public double At(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return LearningRateSchedules.WarmupFactor(step, WarmupSteps) * Decay(step);
    }

    /// <summary>The rate of the schedule proper at <paramref name="step"/>, before the warm-up factor.</summary>
    protected abstract double Decay(long step);

    /// <summary>Fraction of the steps after warm-up done at <paramref name="step"/>: 0 up to the end of warm-up, 1 from the last step on.</summary>
    protected double DecayProgress(long step)
        => Math.Clamp((double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps), 0, 1);

    /// <inheritdoc/>
    public void OnEpochEnd(int epoch, double metric) { }

    /// <inheritdoc/>
    public double[] State => [];

    /// <inheritdoc/>
    public void Restore(double[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Length != 0)
            throw new ArgumentException($"This schedule has no state, but the state to restore has {state.Length} value(s).", nameof(state));
    }
}

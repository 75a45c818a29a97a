namespace Lightweight.ML.Training;

/// <summary>η · (1 − p) with p the fraction of the post-warm-up steps done.</summary>
internal sealed class LinearDecaySchedule(double peak, long stepsPerEpoch, long totalSteps, long warmupSteps)
    : WarmupDecaySchedule(peak, stepsPerEpoch, totalSteps, warmupSteps)
{
    protected override double Decay(long step) => Peak * (1 - DecayProgress(step));
}

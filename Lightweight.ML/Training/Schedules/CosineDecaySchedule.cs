namespace Lightweight.ML.Training;

/// <summary>η · ½ (1 + cos(π · p)) with p the fraction of the post-warm-up steps done.</summary>
internal sealed class CosineDecaySchedule(double peak, long stepsPerEpoch, long totalSteps, long warmupSteps)
    : WarmupDecaySchedule(peak, stepsPerEpoch, totalSteps, warmupSteps)
{
    protected override double Decay(long step) => Peak * 0.5 * (1 + Math.Cos(Math.PI * DecayProgress(step)));
}

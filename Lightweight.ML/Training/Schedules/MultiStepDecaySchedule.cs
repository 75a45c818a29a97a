namespace Lightweight.ML.Training;

/// <summary>η · γ^k with k the number of milestones ≤ e = ⌊step / stepsPerEpoch⌋ completed epochs (PyTorch's MultiStepLR).</summary>
internal sealed class MultiStepDecaySchedule(double peak, long stepsPerEpoch, long totalSteps, long warmupSteps, double gamma, int[] milestones)
    : WarmupDecaySchedule(peak, stepsPerEpoch, totalSteps, warmupSteps)
{
    private readonly int[] _milestones = (int[])milestones.Clone();

    protected override double Decay(long step)
    {
        long epochsDone = step / StepsPerEpoch;
        return Peak * Math.Pow(gamma, _milestones.Count(m => m <= epochsDone));
    }
}

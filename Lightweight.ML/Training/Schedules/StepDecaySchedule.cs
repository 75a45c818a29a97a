namespace Lightweight.ML.Training;

/// <summary>η · γ^⌊e / StepEpochs⌋ with e = ⌊step / stepsPerEpoch⌋ completed epochs (PyTorch's StepLR stepped per epoch).</summary>
internal sealed class StepDecaySchedule(double peak, long stepsPerEpoch, long totalSteps, long warmupSteps, double gamma, int stepEpochs)
    : WarmupDecaySchedule(peak, stepsPerEpoch, totalSteps, warmupSteps)
{
    protected override double Decay(long step) => Peak * Math.Pow(gamma, step / StepsPerEpoch / stepEpochs);
}

namespace Lightweight.ML.Training;

/// <summary>Linear warm-up from 0 to the peak, then cosine decay towards 0, stepped per optimizer step.</summary>
internal static class CosineSchedule
{
    /// <summary>The learning rate for step <paramref name="step"/> (from 0) of <paramref name="totalSteps"/>.</summary>
    public static double At(long step, long totalSteps, long warmupSteps, double peak)
    {
        if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
        long decaySteps = Math.Max(1, totalSteps - warmupSteps);
        double progress = Math.Min(1.0, (double)(step - warmupSteps) / decaySteps);
        return peak * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}

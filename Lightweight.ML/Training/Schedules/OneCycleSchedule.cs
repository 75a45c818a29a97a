namespace Lightweight.ML.Training;

/// <summary>
/// PyTorch's OneCycleLR (<c>anneal_strategy='cos'</c>, two phases, no momentum cycling), indexed by optimizer step:
/// <code>
/// initial = η / div_factor          min = initial / final_div_factor
/// e1 = (W > 0 ? W : pct_start · S) − 1      e2 = S − 1       cos(a, b, p) = b + (a − b) / 2 · (cos(π p) + 1)
/// s ≤ e1:  cos(initial, η, s / e1)           s > e1:  cos(η, min, (s − e1) / (e2 − e1))
/// </code>
/// The warm-up steps W, when there are any, replace <c>pct_start · S</c> as the length of the rising phase, so η is
/// reached at step W − 1 as with the other kinds; there is no extra linear ramp. Steps past S − 1 keep the final rate.
/// </summary>
internal sealed class OneCycleSchedule : WarmupDecaySchedule
{
    private readonly double _initial, _min, _riseEnd;

    public OneCycleSchedule(double peak, long stepsPerEpoch, long totalSteps, long warmupSteps, double pctStart, double divFactor, double finalDivFactor)
        : base(peak, stepsPerEpoch, totalSteps, warmupSteps: 0)
    {
        _initial = peak / divFactor;
        _min = _initial / finalDivFactor;
        _riseEnd = (warmupSteps > 0 ? warmupSteps : pctStart * totalSteps) - 1;
    }

    protected override double Decay(long step)
    {
        double s = Math.Min(step, TotalSteps - 1), fallEnd = TotalSteps - 1;
        return s <= _riseEnd
            ? Anneal(_initial, Peak, _riseEnd > 0 ? s / _riseEnd : 1)
            : Anneal(Peak, _min, (s - _riseEnd) / (fallEnd - _riseEnd));
    }

    /// <summary>Cosine from <paramref name="start"/> (p = 0) to <paramref name="end"/> (p = 1), in PyTorch's operation order.</summary>
    private static double Anneal(double start, double end, double pct) => end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1);
}

namespace Lightweight.ML.Training;

/// <summary>
/// PyTorch's ReduceLROnPlateau (<c>threshold_mode='rel'</c>, eps 1e-8), fed once per epoch; the rate of a step is the
/// warm-up factor × the current rate, which starts at the peak. After each epoch:
/// <code>
/// better = maximize ? m > best · (1 + threshold) : m &lt; best · (1 − threshold)     (best starts at ∓∞)
/// better → best = m, bad = 0;  else bad += 1
/// cooldown > 0 → cooldown −= 1, bad = 0
/// bad > patience → lr' = max(lr · factor, min_lr), applied if lr − lr' > 1e-8;  cooldown = cooldown epochs, bad = 0
/// </code>
/// State (5 values): current rate, best metric, bad epochs, cooldown left, last epoch seen.
/// </summary>
internal sealed class PlateauSchedule(double peak, long warmupSteps, bool maximize, double factor, int patience,
    double threshold, int cooldown, double minLr) : ILearningRateSchedule
{
    private const double Eps = 1e-8;
    private double _lr = peak;
    private double _best = maximize ? double.NegativeInfinity : double.PositiveInfinity;
    private int _badEpochs, _cooldownLeft, _lastEpoch;

    /// <summary>True when a higher metric is better (accuracy), false when lower is (loss).</summary>
    public bool Maximize => maximize;

    /// <inheritdoc/>
    public double At(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return LearningRateSchedules.WarmupFactor(step, warmupSteps) * _lr;
    }

    /// <inheritdoc/>
    public void OnEpochEnd(int epoch, double metric)
    {
        if (epoch <= _lastEpoch)
            throw new ArgumentOutOfRangeException(nameof(epoch), epoch, $"Epochs must be reported in increasing order; epoch {_lastEpoch} was already reported.");
        _lastEpoch = epoch;
        bool better = maximize ? metric > _best * (1 + threshold) : metric < _best * (1 - threshold);
        if (better) (_best, _badEpochs) = (metric, 0);
        else _badEpochs++;
        if (_cooldownLeft > 0) (_cooldownLeft, _badEpochs) = (_cooldownLeft - 1, 0);
        if (_badEpochs > patience)
        {
            double reduced = Math.Max(_lr * factor, minLr);
            if (_lr - reduced > Eps) _lr = reduced;
            (_cooldownLeft, _badEpochs) = (cooldown, 0);
        }
    }

    /// <inheritdoc/>
    public double[] State => [_lr, _best, _badEpochs, _cooldownLeft, _lastEpoch];

    /// <inheritdoc/>
    public void Restore(double[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Length != 5)
            throw new ArgumentException($"A plateau schedule's state has 5 values, but the state to restore has {state.Length}: [{string.Join(", ", state)}].", nameof(state));
        if (!(state[0] > 0 && double.IsFinite(state[0])) || double.IsNaN(state[1]) || state.Skip(2).Any(v => !(v >= 0 && v <= int.MaxValue && v == Math.Floor(v))))
            throw new ArgumentException($"Invalid plateau schedule state [{string.Join(", ", state)}].", nameof(state));
        (_lr, _best) = (state[0], state[1]);
        (_badEpochs, _cooldownLeft, _lastEpoch) = ((int)state[2], (int)state[3], (int)state[4]);
    }
}

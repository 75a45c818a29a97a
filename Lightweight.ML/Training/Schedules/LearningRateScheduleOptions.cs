namespace Lightweight.ML;

/// <summary>
/// The learning-rate schedule and its parameters. Defaults follow PyTorch's schedulers. Only the parameters of the
/// chosen <see cref="Kind"/> are used, but <see cref="Validate"/> checks them all.
/// </summary>
/// <remarks>
/// With peak rate η, W warm-up steps, S steps in all and the rate η(s) of the chosen kind at optimizer step s (from 0),
/// the rate used is min(1, (s + 1) / W) · η(s): a linear ramp from η / W to η, since η(s) = η during warm-up unless a
/// Step/MultiStep/plateau reduction falls inside it. OneCycle has no ramp: W sets the length of its rising phase.
/// <list type="table">
/// <item><term>Cosine</term><description>η · ½ (1 + cos(π · p)), p = (s − W) / (S − W)</description></item>
/// <item><term>Linear</term><description>η · (1 − p)</description></item>
/// <item><term>Step</term><description>η · γ^⌊e / StepEpochs⌋, e = completed epochs</description></item>
/// <item><term>MultiStep</term><description>η · γ^(number of milestones ≤ e)</description></item>
/// <item><term>OneCycle</term><description>PyTorch's OneCycleLR (cosine), W replacing pct_start · S when W &gt; 0</description></item>
/// <item><term>ReduceOnPlateau</term><description>η · factor^(reductions so far), at least min_lr</description></item>
/// </list>
/// </remarks>
public sealed class LearningRateScheduleOptions
{
    /// <summary>The schedule. Default <see cref="LearningRateScheduleKind.Cosine"/>.</summary>
    public LearningRateScheduleKind Kind { get; set; } = LearningRateScheduleKind.Cosine;

    /// <summary>Multiplier of <see cref="LearningRateScheduleKind.Step"/> and <see cref="LearningRateScheduleKind.MultiStep"/>. Default 0.1; in (0, 1].</summary>
    public double Gamma { get; set; } = 0.1;

    /// <summary>Epochs between two reductions of <see cref="LearningRateScheduleKind.Step"/>. Default 30; at least 1.</summary>
    public int StepEpochs { get; set; } = 30;

    /// <summary>
    /// Epoch counts after which <see cref="LearningRateScheduleKind.MultiStep"/> multiplies the rate by <see cref="Gamma"/>:
    /// with [30, 60] epochs 1–30 run at the peak, 31–60 at peak · γ, later ones at peak · γ². Default empty (constant
    /// rate); strictly increasing, each at least 1. Milestones after the last epoch are never reached.
    /// </summary>
    public int[] Milestones { get; set; } = [];

    /// <summary>
    /// Fraction of all steps spent rising in <see cref="LearningRateScheduleKind.OneCycle"/> (<c>pct_start</c>), used
    /// when there is no warm-up. Default 0.3; in (0, 1).
    /// </summary>
    public double OneCyclePctStart { get; set; } = 0.3;

    /// <summary>
    /// <see cref="LearningRateScheduleKind.OneCycle"/> starts at peak / this (<c>div_factor</c>). Default 25; at least 1, finite.
    /// </summary>
    public double OneCycleDivFactor { get; set; } = 25;

    /// <summary>
    /// <see cref="LearningRateScheduleKind.OneCycle"/> ends at its start rate / this (<c>final_div_factor</c>).
    /// Default 1e4; at least 1, finite.
    /// </summary>
    public double OneCycleFinalDivFactor { get; set; } = 1e4;

    /// <summary>
    /// Metric watched by <see cref="LearningRateScheduleKind.ReduceOnPlateau"/>. Default
    /// <see cref="Lightweight.ML.PlateauMetric.ValidationAccuracy"/>; without a validation set the training loss is watched.
    /// </summary>
    public PlateauMetric PlateauMetric { get; set; } = PlateauMetric.ValidationAccuracy;

    /// <summary>Multiplier applied on a plateau (<c>factor</c>). Default 0.1; in (0, 1).</summary>
    public double PlateauFactor { get; set; } = 0.1;

    /// <summary>Epochs without improvement tolerated before a reduction (<c>patience</c>). Default 10; at least 0.</summary>
    public int PlateauPatience { get; set; } = 10;

    /// <summary>
    /// Relative improvement that counts (<c>threshold</c>, <c>threshold_mode='rel'</c>): better than best · (1 ± this).
    /// Default 1e-4; in [0, 1).
    /// </summary>
    public double PlateauThreshold { get; set; } = 1e-4;

    /// <summary>Epochs after a reduction during which bad epochs are not counted (<c>cooldown</c>). Default 0; at least 0.</summary>
    public int PlateauCooldown { get; set; }

    /// <summary>Lower bound of the rate reached by reductions (<c>min_lr</c>). Default 0; at least 0, finite.</summary>
    public double PlateauMinLearningRate { get; set; }

    /// <summary>Checks every parameter; throws an <see cref="ArgumentException"/> naming the first bad one and its value.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Kind))
            throw new ArgumentOutOfRangeException(nameof(Kind), Kind, $"Unknown schedule {Kind}; expected one of {string.Join(", ", Enum.GetNames<LearningRateScheduleKind>())}.");
        if (!(Gamma > 0 && Gamma <= 1))
            throw new ArgumentOutOfRangeException(nameof(Gamma), Gamma, $"Gamma must be in (0, 1].");
        if (StepEpochs < 1)
            throw new ArgumentOutOfRangeException(nameof(StepEpochs), StepEpochs, $"StepEpochs must be at least 1.");
        if (Milestones is null)
            throw new ArgumentNullException(nameof(Milestones), "Milestones must not be null; use an empty array for none.");
        for (int i = 0; i < Milestones.Length; i++)
            if (Milestones[i] < 1 || (i > 0 && Milestones[i] <= Milestones[i - 1]))
                throw new ArgumentException($"Milestones must be strictly increasing epoch counts of at least 1; got [{string.Join(", ", Milestones)}].", nameof(Milestones));
        if (!(OneCyclePctStart > 0 && OneCyclePctStart < 1))
            throw new ArgumentOutOfRangeException(nameof(OneCyclePctStart), OneCyclePctStart, $"OneCyclePctStart must be in (0, 1).");
        if (!(OneCycleDivFactor >= 1 && double.IsFinite(OneCycleDivFactor)))
            throw new ArgumentOutOfRangeException(nameof(OneCycleDivFactor), OneCycleDivFactor, $"OneCycleDivFactor must be finite and at least 1.");
        if (!(OneCycleFinalDivFactor >= 1 && double.IsFinite(OneCycleFinalDivFactor)))
            throw new ArgumentOutOfRangeException(nameof(OneCycleFinalDivFactor), OneCycleFinalDivFactor, $"OneCycleFinalDivFactor must be finite and at least 1.");
        if (!Enum.IsDefined(PlateauMetric))
            throw new ArgumentOutOfRangeException(nameof(PlateauMetric), PlateauMetric, $"Unknown plateau metric {PlateauMetric}; expected one of {string.Join(", ", Enum.GetNames<PlateauMetric>())}.");
        if (!(PlateauFactor > 0 && PlateauFactor < 1))
            throw new ArgumentOutOfRangeException(nameof(PlateauFactor), PlateauFactor, $"PlateauFactor must be in (0, 1).");
        if (PlateauPatience < 0)
            throw new ArgumentOutOfRangeException(nameof(PlateauPatience), PlateauPatience, $"PlateauPatience must be at least 0.");
        if (!(PlateauThreshold >= 0 && PlateauThreshold < 1))
            throw new ArgumentOutOfRangeException(nameof(PlateauThreshold), PlateauThreshold, $"PlateauThreshold must be in [0, 1).");
        if (PlateauCooldown < 0)
            throw new ArgumentOutOfRangeException(nameof(PlateauCooldown), PlateauCooldown, $"PlateauCooldown must be at least 0.");
        if (!(PlateauMinLearningRate >= 0 && double.IsFinite(PlateauMinLearningRate)))
            throw new ArgumentOutOfRangeException(nameof(PlateauMinLearningRate), PlateauMinLearningRate, $"PlateauMinLearningRate must be finite and at least 0.");
    }
}

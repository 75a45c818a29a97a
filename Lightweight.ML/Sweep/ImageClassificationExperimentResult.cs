using Microsoft.ML;

namespace Lightweight.ML;

/// <summary>Everything an <see cref="ImageClassificationExperiment"/> found.</summary>
public sealed class ImageClassificationExperimentResult
{
    internal ImageClassificationExperimentResult(IReadOnlyList<TrialResult> trials, TrialResult? best, ITransformer? bestModel,
        IReadOnlyList<TrialResult> front, bool budgetExhausted, IReadOnlyList<ModelProfile> profiles, IReadOnlyList<string> excluded)
    {
        Trials = trials;
        BestTrial = best;
        BestModel = bestModel;
        ParetoFront = front;
        BudgetExhausted = budgetExhausted;
        Profiles = profiles;
        ExcludedModels = excluded;
    }

    /// <summary>Every finished trial (resumed ones included), by <see cref="TrialResult.Id"/>.</summary>
    public IReadOnlyList<TrialResult> Trials { get; }

    /// <summary>The trial the objective picks: the most accurate completed one within the latency or size budget.</summary>
    public TrialResult? BestTrial { get; }

    /// <summary>
    /// The best trial's fitted model (an <see cref="ImageClassificationTransformer"/>, or the pipeline read back from
    /// <see cref="TrialResult.ModelPath"/> when a resumed sweep trained it earlier). Dispose it when done.
    /// </summary>
    public ITransformer? BestModel { get; }

    /// <summary>Completed trials not beaten on both validation accuracy and single-image latency, fastest first.</summary>
    public IReadOnlyList<TrialResult> ParetoFront { get; }

    /// <summary>Whether the time budget ran out before every planned trial ran.</summary>
    public bool BudgetExhausted { get; }

    /// <summary>Size, MFLOPs and latency of every model considered, measured before training.</summary>
    public IReadOnlyList<ModelProfile> Profiles { get; }

    /// <summary>Models not trained because they exceed the objective's latency or size budget.</summary>
    public IReadOnlyList<string> ExcludedModels { get; }
}

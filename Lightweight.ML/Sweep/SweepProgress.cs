namespace Lightweight.ML;

/// <summary>A report of a running sweep: a trial started (<see cref="Epoch"/> and <see cref="Result"/> null), finished an epoch, or ended.</summary>
/// <param name="TrialId">Trial number, from 1.</param>
/// <param name="Trial">What the trial trains.</param>
/// <param name="Epoch">The epoch that just ended, if that is the news.</param>
/// <param name="Result">The trial's result, once it has ended (also for trials skipped because a resumed sweep had them).</param>
/// <param name="Elapsed">Wall time since the experiment started.</param>
public sealed record SweepProgress(int TrialId, TrialSettings Trial, TrainingProgress? Epoch, TrialResult? Result, TimeSpan Elapsed);

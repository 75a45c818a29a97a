namespace Lightweight.ML;

/// <summary>What one trial of a sweep trains.</summary>
/// <param name="Model">Model name (<see cref="ModelNames"/>).</param>
/// <param name="LearningRate">Peak learning rate, or <c>null</c> for the trainer's default.</param>
/// <param name="LabelSmoothing">Label smoothing of the loss.</param>
/// <param name="Epochs">Training epochs (the rung's budget).</param>
/// <param name="Rung">Successive-halving rung, from 0.</param>
public sealed record TrialSettings(string Model, double? LearningRate, double LabelSmoothing, int Epochs, int Rung);

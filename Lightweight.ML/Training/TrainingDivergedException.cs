namespace Lightweight.ML;

/// <summary>
/// The training loss became NaN or infinite. Thrown by <c>Fit</c> before the diverged step updates the weights and
/// before any checkpoint of the epoch is written; a lower learning rate (or warm-up) usually helps. It is an
/// <see cref="InvalidOperationException"/>, so code catching that keeps working.
/// </summary>
public sealed class TrainingDivergedException : InvalidOperationException
{
    /// <summary>Creates the exception for the given epoch (from 1), step (from 1) and learning rate.</summary>
    public TrainingDivergedException(int epoch, long step, double learningRate, float loss)
        : base($"The training loss became {loss} at epoch {epoch}, step {step} (learning rate {learningRate:G4}); " +
               "training diverged and no checkpoint was written for this epoch. Lower LearningRate (or add WarmupEpochs) and try again.")
    {
        Epoch = epoch;
        Step = step;
        LearningRate = learningRate;
    }

    /// <summary>Epoch of the diverged step, from 1.</summary>
    public int Epoch { get; }

    /// <summary>Optimizer step that diverged, from 1.</summary>
    public long Step { get; }

    /// <summary>Learning rate at that step.</summary>
    public double LearningRate { get; }
}

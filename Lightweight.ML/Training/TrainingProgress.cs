namespace Lightweight.ML;

/// <summary>One report of training progress, sent once per epoch through <see cref="ImageClassificationTrainerOptions.Progress"/>.</summary>
/// <param name="Epoch">The epoch that just finished, from 1.</param>
/// <param name="Epochs">Total number of epochs.</param>
/// <param name="Step">Optimizer steps taken so far.</param>
/// <param name="TrainLoss">Mean training loss (with label smoothing) over the epoch.</param>
/// <param name="TrainAccuracy">Top-1 accuracy on the training batches of the epoch (in train mode).</param>
/// <param name="ValidationLoss">Cross-entropy on the validation set (no smoothing), when one is given.</param>
/// <param name="ValidationAccuracy">Top-1 accuracy on the validation set, when one is given.</param>
/// <param name="LearningRate">Learning rate at the last step of the epoch.</param>
/// <param name="ImagesPerSecond">Training throughput of the epoch.</param>
/// <param name="Elapsed">Wall time since training started.</param>
/// <param name="Remaining">Estimated wall time left.</param>
/// <param name="ValidationTop5">Top-5 accuracy on the validation set, when one is given.</param>
public sealed record TrainingProgress(
    int Epoch, int Epochs, long Step,
    double TrainLoss, double TrainAccuracy,
    double? ValidationLoss, double? ValidationAccuracy,
    double LearningRate, double ImagesPerSecond,
    TimeSpan Elapsed, TimeSpan Remaining,
    double? ValidationTop5 = null)
{
    /// <summary>One line such as <c>epoch 2/10  loss 1.2345  acc 0.612  val_acc 0.700  lr 0.0500  812 img/s  eta 00:00:41</c>.</summary>
    public override string ToString()
    {
        var validation = ValidationAccuracy is { } va ? $"  val_loss {ValidationLoss:F4}  val_acc {va:F3}" : "";
        return $"epoch {Epoch}/{Epochs}  loss {TrainLoss:F4}  acc {TrainAccuracy:F3}{validation}  lr {LearningRate:G4}  " +
               $"{ImagesPerSecond:F0} img/s  eta {Remaining:hh\\:mm\\:ss}";
    }
}

namespace Lightweight.ML.Training.Reporting;

/// <summary>The metrics of one finished epoch, as written to <c>metrics.csv</c>, TensorBoard and the plots.</summary>
/// <param name="Epoch">The epoch that just finished, from 1.</param>
/// <param name="Step">Optimizer steps taken so far.</param>
/// <param name="TrainLoss">Mean training loss over the epoch.</param>
/// <param name="TrainAccuracy">Top-1 accuracy on the training batches of the epoch, in [0, 1].</param>
/// <param name="ValidationLoss">Cross-entropy on the validation set; null without one.</param>
/// <param name="ValidationAccuracy">Top-1 accuracy on the validation set, in [0, 1]; null without one.</param>
/// <param name="ValidationTop5">Top-5 accuracy on the validation set, in [0, 1]; null without one.</param>
/// <param name="LearningRate">Learning rate at the last step of the epoch.</param>
/// <param name="ImagesPerSecond">Training throughput of the epoch.</param>
/// <param name="ElapsedSeconds">Wall time since training started, in seconds.</param>
internal sealed record EpochMetrics(
    int Epoch, long Step,
    double TrainLoss, double TrainAccuracy,
    double? ValidationLoss, double? ValidationAccuracy, double? ValidationTop5,
    double LearningRate, double ImagesPerSecond, double ElapsedSeconds);

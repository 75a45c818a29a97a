using System.Diagnostics;
using Lightweight.ML.Data;
using Lightweight.ML.Models;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Lightweight.ML.Training;

/// <summary>
/// Minibatch training of an <see cref="ImageClassifierModel"/> on decoded images: shuffled batches, cross-entropy with
/// label smoothing, SGD (Nesterov) or AdamW, per-step warm-up + cosine learning rate, optional per-epoch validation.
/// Every step runs in its own dispose scope; the model and optimizer live outside them.
/// </summary>
internal sealed class TrainingLoop
{
    private readonly ImageClassifierModel _model;
    private readonly ImageClassificationTrainerOptions _options;
    private readonly ImagePreprocessing _preprocessing;
    private readonly Device _device;
    private readonly IChannel _channel;

    public TrainingLoop(ImageClassifierModel model, ImageClassificationTrainerOptions options, ImagePreprocessing preprocessing,
        Device device, IChannel channel)
        => (_model, _options, _preprocessing, _device, _channel) = (model, options, preprocessing, device, channel);

    /// <summary>Trains in place; leaves the model in eval mode.</summary>
    public void Run(LabeledImages train, LabeledImages? validation, long seed)
    {
        var o = _options;
        long n = train.Count;
        int batch = (int)Math.Min(o.BatchSize, n);
        // Drop a last batch of one image: batch norm cannot normalise a single sample.
        long stepsPerEpoch = n / batch + (n % batch >= 2 ? 1 : 0);
        long totalSteps = stepsPerEpoch * o.Epochs;
        long warmupSteps = (long)Math.Round(o.WarmupEpochs * stepsPerEpoch);
        double peakLr = o.EffectiveLearningRate;

        using var optimizer = CreateOptimizer(peakLr);
        using var shuffle = new Generator((ulong)seed);
        _model.train();
        var clock = Stopwatch.StartNew();
        long step = 0;
        double lr = 0;
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            double lossSum = 0;
            long correct = 0, seen = 0;
            using var order = randperm(n, generator: shuffle);
            for (long s = 0; s < stepsPerEpoch; s++, step++)
            {
                lr = CosineSchedule.At(step, totalSteps, warmupSteps, peakLr);
                foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
                using var scope = NewDisposeScope();
                long start = s * batch, count = Math.Min(batch, n - start);
                var index = order.narrow(0, start, count);
                var x = _preprocessing.Normalize(train.Images.index_select(0, index), _device);
                var y = train.Labels.index_select(0, index).to(_device);
                var logits = _model.call(x);
                var loss = nn.functional.cross_entropy(logits, y, label_smoothing: o.LabelSmoothing);
                float lossValue = loss.item<float>();
                if (!float.IsFinite(lossValue))
                    throw new InvalidOperationException(
                        $"The training loss became {lossValue} at epoch {epoch}, step {step + 1} (learning rate {lr:G4}); " +
                        "training diverged. Lower LearningRate (or add WarmupEpochs) and try again.");
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                lossSum += lossValue * count;
                correct += logits.argmax(1).eq(y).sum().item<long>();
                seen += count;
            }

            (double Loss, double Accuracy)? val = validation is null ? null : Evaluate(validation);
            var elapsed = clock.Elapsed;
            var progress = new TrainingProgress(epoch, o.Epochs, step, lossSum / seen, (double)correct / seen,
                val?.Loss, val?.Accuracy, lr, seen / epochClock.Elapsed.TotalSeconds,
                elapsed, elapsed / epoch * (o.Epochs - epoch));
            _channel.Info(MessageSensitivity.None, $"{o.ModelName} {progress}");
            o.Progress?.Report(progress);
        }
        _model.zero_grad(set_to_none: true); // scoring needs no gradients: free them (and their tensors)
        _model.eval();
    }

    /// <summary>Mean cross-entropy (no smoothing) and top-1 accuracy in eval mode; restores train mode.</summary>
    public (double Loss, double Accuracy) Evaluate(LabeledImages data)
    {
        _model.eval();
        double lossSum = 0;
        long correct = 0;
        using (no_grad())
        {
            for (long start = 0; start < data.Count; start += _options.BatchSize)
            {
                using var scope = NewDisposeScope();
                long count = Math.Min(_options.BatchSize, data.Count - start);
                var x = _preprocessing.Normalize(data.Images.narrow(0, start, count), _device);
                var y = data.Labels.narrow(0, start, count).to(_device);
                var logits = _model.call(x);
                lossSum += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
                correct += logits.argmax(1).eq(y).sum().item<long>();
            }
        }
        _model.train();
        return (lossSum / data.Count, (double)correct / data.Count);
    }

    private optim.Optimizer CreateOptimizer(double lr) => _options.Optimizer switch
    {
        ImageClassifierOptimizer.Sgd => optim.SGD(_model.parameters(), lr, _options.Momentum,
            weight_decay: _options.EffectiveWeightDecay, nesterov: _options.Nesterov && _options.Momentum > 0),
        ImageClassifierOptimizer.AdamW => optim.AdamW(_model.parameters(), lr, weight_decay: _options.EffectiveWeightDecay),
        _ => throw new ArgumentOutOfRangeException(nameof(_options.Optimizer), _options.Optimizer, "Unknown optimizer."),
    };
}

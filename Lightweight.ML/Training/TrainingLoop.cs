using System.Diagnostics;
using Lightweight.ML.Data;
using Lightweight.ML.Models;
using Microsoft.ML.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lightweight.ML.Training;

/// <summary>
/// Minibatch training of an <see cref="ImageClassifierModel"/> on decoded images: shuffled batches, cross-entropy with
/// label smoothing, SGD (Nesterov) or AdamW, per-step warm-up + cosine learning rate, per-epoch validation with early
/// stopping and best-weight restore, atomic checkpoints with resume, cancellation within one batch, optional batch-norm
/// recalibration. Every step runs in its own dispose scope; the model and optimizer live outside them.
/// </summary>
internal sealed class TrainingLoop
{
    private readonly ImageClassifierModel _model;
    private readonly ImageClassificationTrainerOptions _options;
    private readonly ImagePreprocessing _preprocessing;
    private readonly Device _device;
    private readonly IChannel _channel;
    private readonly int _classes;

    public TrainingLoop(ImageClassifierModel model, ImageClassificationTrainerOptions options, ImagePreprocessing preprocessing,
        Device device, IChannel channel)
        => (_model, _options, _preprocessing, _device, _channel, _classes) = (model, options, preprocessing, device, channel, model.NumClasses);

    private string? CheckpointFolder => _options.OutputDirectory is { } dir ? Path.Combine(dir, "checkpoints") : null;

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
        using var augment = new Generator((ulong)seed ^ 0x5DEECE66DUL);
        var state = new CheckpointHeader { Model = o.ModelName, Classes = _classes, ImageSize = _preprocessing.ImageSize, Epoch = 0, Step = 0 };
        if (o.Resume && CheckpointFolder is { } folder && File.Exists(Path.Combine(folder, "last.ckpt")))
            state = ResumeFrom(Path.Combine(folder, "last.ckpt"), optimizer, shuffle, augment);

        Dictionary<string, Tensor>? bestWeights = null;
        _model.train();
        var clock = Stopwatch.StartNew();
        int epochsRun = 0;
        double lr = CosineSchedule.At(Math.Max(0, state.Step - 1), totalSteps, warmupSteps, peakLr);
        try
        {
            for (int epoch = state.Epoch + 1; epoch <= o.Epochs; epoch++)
            {
                var epochClock = Stopwatch.StartNew();
                double lossSum = 0;
                long correct = 0, seen = 0, step = state.Step;
                using var order = randperm(n, generator: shuffle);
                for (long s = 0; s < stepsPerEpoch; s++, step++)
                {
                    o.CancellationToken.ThrowIfCancellationRequested();
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
                            "training diverged and no checkpoint was written for this epoch. Lower LearningRate (or add WarmupEpochs) and try again.");
                    optimizer.zero_grad();
                    loss.backward();
                    if (o.GradientClipNorm is { } maxNorm) nn.utils.clip_grad_norm_(_model.parameters(), maxNorm);
                    optimizer.step();
                    lossSum += lossValue * count;
                    correct += logits.argmax(1).eq(y).sum().item<long>();
                    seen += count;
                }
                epochsRun++;

                var val = validation is null || validation.Count == 0 ? null : Evaluate(validation);
                bool improved = val is not null && (state.BestMetric is not { } best || val.Top1 > best);
                state = state with
                {
                    Epoch = epoch,
                    Step = step,
                    BestMetric = improved ? val!.Top1 : state.BestMetric,
                    BestEpoch = improved ? epoch : state.BestEpoch,
                    EpochsWithoutImprovement = val is null || improved ? 0 : state.EpochsWithoutImprovement + 1,
                };
                var elapsed = clock.Elapsed;
                var progress = new TrainingProgress(epoch, o.Epochs, step, lossSum / seen, (double)correct / seen,
                    val?.Loss, val?.Top1, lr, seen / epochClock.Elapsed.TotalSeconds,
                    elapsed, elapsed / epochsRun * (o.Epochs - epoch), val?.Top5);
                _channel.Info(MessageSensitivity.None, $"{o.ModelName} {progress}");

                if (improved && o.RestoreBestWeights)
                {
                    DisposeAll(bestWeights);
                    bestWeights = CopyWeights();
                    if (CheckpointFolder is { } dir)
                        Checkpoint.Save(Path.Combine(dir, "best.ckpt"), state, _model, optimizer: null, shuffle, augment);
                }
                if (CheckpointFolder is { } checkpoints && (epoch % o.CheckpointEveryEpochs == 0 || epoch == o.Epochs))
                    Checkpoint.Save(Path.Combine(checkpoints, "last.ckpt"), state, _model, optimizer, shuffle, augment);
                o.Progress?.Report(progress);

                if (o.EarlyStoppingPatience is { } patience && state.EpochsWithoutImprovement >= patience)
                {
                    _channel.Info(MessageSensitivity.None,
                        $"Early stopping after epoch {epoch}: validation accuracy has not improved for {patience} epoch(s) (best {state.BestMetric:F4} at epoch {state.BestEpoch}).");
                    break;
                }
            }

            if (o.RestoreBestWeights && state.BestMetric is not null && state.BestEpoch != state.Epoch)
            {
                RestoreBest(bestWeights);
                _channel.Info(MessageSensitivity.None, $"Restored the weights of epoch {state.BestEpoch} (validation accuracy {state.BestMetric:F4}).");
            }
        }
        finally
        {
            DisposeAll(bestWeights);
        }
        if (o.BatchNormRecalibrationBatches > 0) RecalibrateBatchNorm(train, batch, shuffle);
        _model.zero_grad(set_to_none: true); // scoring needs no gradients: free them
        _model.eval();
    }

    /// <summary>Loss, top-1/top-5 accuracy and confusion matrix in eval mode; restores train mode.</summary>
    public Evaluation Evaluate(LabeledImages data)
    {
        _model.eval();
        double lossSum = 0;
        long top1 = 0, top5 = 0;
        int k = Math.Min(5, _classes);
        using var confusion = zeros(_classes * _classes, ScalarType.Int64);
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
                var predicted = logits.argmax(1);
                top1 += predicted.eq(y).sum().item<long>();
                top5 += logits.topk(k, dim: 1).indexes.eq(y.unsqueeze(1)).any(1).sum().item<long>();
                confusion.add_(bincount(y.mul(_classes).add(predicted).cpu(), minlength: _classes * _classes));
            }
        }
        _model.train();
        var counts = confusion.data<long>().ToArray();
        var matrix = new long[_classes, _classes];
        Buffer.BlockCopy(counts, 0, matrix, 0, counts.Length * sizeof(long));
        return new Evaluation(lossSum / data.Count, (double)top1 / data.Count, (double)top5 / data.Count, matrix);
    }

    private CheckpointHeader ResumeFrom(string path, optim.Optimizer optimizer, Generator shuffle, Generator augment)
    {
        var header = Checkpoint.ReadHeader(path);
        if (header.Model != _options.ModelName || header.Classes != _classes || header.ImageSize != _preprocessing.ImageSize)
            throw new InvalidOperationException(
                $"Checkpoint '{path}' was written for {header.Model} with {header.Classes} classes at {header.ImageSize} px, but this " +
                $"trainer builds {_options.ModelName} with {_classes} classes at {_preprocessing.ImageSize} px. Use another OutputDirectory or set Resume = false.");
        header = Checkpoint.Load(path, _model, optimizer, shuffle, augment);
        _channel.Info(MessageSensitivity.None, $"Resumed from '{path}' after epoch {header.Epoch} (step {header.Step}).");
        return header;
    }

    private Dictionary<string, Tensor> CopyWeights()
    {
        var copy = new Dictionary<string, Tensor>();
        using (no_grad())
            foreach (var (name, value) in _model.state_dict())
                copy[name] = value.detach().clone();
        return copy;
    }

    private void RestoreBest(Dictionary<string, Tensor>? inMemory)
    {
        if (inMemory is not null)
        {
            _model.load_state_dict(inMemory);
            return;
        }
        // Resumed after the best epoch: its weights are in best.ckpt.
        var path = Path.Combine(CheckpointFolder!, "best.ckpt");
        using var unusedShuffle = new Generator(0);
        using var unusedAugment = new Generator(0);
        var rng = get_rng_state();
        Checkpoint.Load(path, _model, optimizer: null, unusedShuffle, unusedAugment);
        set_rng_state(rng);
        rng.Dispose();
    }

    /// <summary>Re-estimates batch-norm statistics as a cumulative average over training batches, without gradients.</summary>
    private void RecalibrateBatchNorm(LabeledImages train, int batch, Generator shuffle)
    {
        var norms = _model.modules().OfType<NormBase>().ToList();
        var momenta = norms.Select(m => m.momentum).ToList();
        foreach (var m in norms)
        {
            m.reset_running_stats();
            m.momentum = null;
        }
        _model.train();
        long batches = Math.Min(_options.BatchNormRecalibrationBatches, Math.Max(1, train.Count / batch));
        using (no_grad())
        using (var order = randperm(train.Count, generator: shuffle))
        {
            for (long b = 0; b < batches; b++)
            {
                _options.CancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var index = order.narrow(0, b * batch, Math.Min(batch, train.Count - b * batch));
                _model.call(_preprocessing.Normalize(train.Images.index_select(0, index), _device));
            }
        }
        for (int i = 0; i < norms.Count; i++) norms[i].momentum = momenta[i];
        _channel.Info(MessageSensitivity.None, $"Recalibrated {norms.Count} batch-norm layers over {batches} batches.");
    }

    private static void DisposeAll(Dictionary<string, Tensor>? tensors)
    {
        if (tensors is null) return;
        foreach (var t in tensors.Values) t.Dispose();
        tensors.Clear();
    }

    private optim.Optimizer CreateOptimizer(double lr) => _options.Optimizer switch
    {
        ImageClassifierOptimizer.Sgd => optim.SGD(_model.parameters(), lr, _options.Momentum,
            weight_decay: _options.EffectiveWeightDecay, nesterov: _options.Nesterov && _options.Momentum > 0),
        ImageClassifierOptimizer.AdamW => optim.AdamW(_model.parameters(), lr, weight_decay: _options.EffectiveWeightDecay),
        _ => throw new ArgumentOutOfRangeException(nameof(_options.Optimizer), _options.Optimizer, "Unknown optimizer."),
    };
}

using System.Diagnostics;
using Lightweight.ML.Data;
using Lightweight.ML.Export;
using Lightweight.ML.Models;
using Lightweight.ML.Training.Reporting;
using Microsoft.ML.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lightweight.ML.Training;

/// <summary>
/// Minibatch training of an <see cref="ImageClassifierModel"/> on decoded images: shuffled, optionally augmented batches,
/// cross-entropy with label smoothing, SGD (Nesterov) or AdamW without weight decay on batch-norm parameters and biases,
/// a per-step learning-rate schedule with warm-up, optional gradient clipping, per-epoch validation with early
/// stopping and best-weight restore, atomic checkpoints with resume, cancellation within one batch, optional batch-norm
/// recalibration, an optionally frozen backbone for the first epochs (fine-tuning). Every step runs in its own dispose
/// scope; the model and optimizer live outside them.
/// </summary>
internal sealed class TrainingLoop
{
    private readonly ImageClassifierModel _model;
    private readonly ImageClassificationTrainerOptions _options;
    private readonly ImagePreprocessing _preprocessing;
    private readonly Device _device;
    private readonly IChannel _channel;
    private readonly int _classes;
    private readonly BatchAugmenter? _augmenter;

    private readonly IReadOnlyList<string> _classNames;

    /// <summary>Module path of the classifier when the backbone is frozen for some epochs, else <c>null</c>.</summary>
    private readonly string? _classifier;
    private bool _backboneFrozen;

    public TrainingLoop(ImageClassifierModel model, ImageClassificationTrainerOptions options, ImagePreprocessing preprocessing,
        Device device, IChannel channel, IReadOnlyList<string> classNames)
    {
        (_model, _options, _preprocessing, _device, _channel, _classes) = (model, options, preprocessing, device, channel, model.NumClasses);
        _classNames = classNames;
        if (options.Augmentation is { } policy && new BatchAugmenter(policy) is { } augmenter && (augmenter.ChangesPixels || augmenter.Erases))
            _augmenter = augmenter; // a policy with everything off costs nothing
        if (options.FreezeBackboneEpochs > 0) _classifier = ClassifierHead.Find(model);
    }

    private string? CheckpointFolder => _options.OutputDirectory is { } dir ? Path.Combine(dir, "checkpoints") : null;

    /// <summary>Trains in place; leaves the model in eval mode.</summary>
    public void Run(LabeledImages train, LabeledImages? validation, long seed)
    {
        var o = _options;
        long n = train.Count;
        int batch = (int)Math.Min(o.BatchSize, n);
        // Drop a last batch of one image: batch norm cannot normalise a single sample.
        long stepsPerEpoch = n / batch + (n % batch >= 2 ? 1 : 0);
        long warmupSteps = (long)Math.Round(o.WarmupEpochs * stepsPerEpoch);
        double peakLr = o.EffectiveLearningRate;

        using var optimizer = CreateOptimizer(peakLr);
        var schedule = LearningRateSchedules.Create(o.LearningRateSchedule, peakLr, stepsPerEpoch, o.Epochs, warmupSteps,
            hasValidationSet: validation is { Count: > 0 });
        using var shuffle = new Generator((ulong)seed);
        using var augment = new Generator((ulong)seed ^ 0x5DEECE66DUL);
        var state = new CheckpointHeader { Model = o.ModelName, Classes = _classes, ImageSize = _preprocessing.ImageSize, Epoch = 0, Step = 0 };
        if (CheckpointFolder is { } checkpointFolder) Checkpoint.DeleteStaleTemporaryFiles(checkpointFolder);
        if (o.Resume && CheckpointFolder is { } folder && File.Exists(Path.Combine(folder, "last.ckpt")))
        {
            state = ResumeFrom(Path.Combine(folder, "last.ckpt"), optimizer, shuffle, augment);
            schedule.Restore(state.ScheduleState);
        }

        using var report = o.OutputDirectory is { } outputDirectory ? new TrainingReportWriter(outputDirectory, _classNames) : null;
        Dictionary<string, Tensor>? bestWeights = null;
        _model.train();
        var clock = Stopwatch.StartNew();
        int epochsRun = 0;
        double lr = schedule.At(Math.Max(0, state.Step - 1));
        try
        {
            for (int epoch = state.Epoch + 1; epoch <= o.Epochs; epoch++)
            {
                FreezeBackbone(epoch <= o.FreezeBackboneEpochs);
                var epochClock = Stopwatch.StartNew();
                double lossSum = 0;
                long correct = 0, seen = 0, step = state.Step;
                using var order = randperm(n, generator: shuffle);
                for (long s = 0; s < stepsPerEpoch; s++, step++)
                {
                    o.CancellationToken.ThrowIfCancellationRequested();
                    lr = schedule.At(step);
                    foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
                    using var scope = NewDisposeScope();
                    long start = s * batch, count = Math.Min(batch, n - start);
                    var index = order.narrow(0, start, count);
                    var x = Augment(train.Images.index_select(0, index), augment);
                    var y = train.Labels.index_select(0, index).to(_device);
                    var logits = _model.call(x);
                    var loss = nn.functional.cross_entropy(logits, y, label_smoothing: o.LabelSmoothing);
                    float lossValue = loss.item<float>();
                    if (!float.IsFinite(lossValue))
                        throw new TrainingDivergedException(epoch, step + 1, lr, lossValue);
                    optimizer.zero_grad();
                    loss.backward();
                    if (o.GradientClipNorm is { } maxNorm) GradientClipping.ClipGradNorm(_model, maxNorm);
                    optimizer.step();
                    lossSum += lossValue * count;
                    correct += logits.argmax(1).eq(y).sum().item<long>();
                    seen += count;
                }
                epochsRun++;

                var val = validation is null || validation.Count == 0 ? null : Evaluate(validation);
                schedule.OnEpochEnd(epoch, LearningRateSchedules.EpochMetric(o.LearningRateSchedule, lossSum / seen,
                    val is null ? null : (val.Loss, val.Top1)));
                bool improved = val is not null && (state.BestMetric is not { } best || val.Top1 > best);
                state = state with
                {
                    Epoch = epoch,
                    Step = step,
                    BestMetric = improved ? val!.Top1 : state.BestMetric,
                    BestEpoch = improved ? epoch : state.BestEpoch,
                    EpochsWithoutImprovement = val is null || improved ? 0 : state.EpochsWithoutImprovement + 1,
                    ScheduleState = schedule.State,
                };
                var elapsed = clock.Elapsed;
                var progress = new TrainingProgress(epoch, o.Epochs, step, lossSum / seen, (double)correct / seen,
                    val?.Loss, val?.Top1, lr, seen / epochClock.Elapsed.TotalSeconds,
                    elapsed, elapsed / epochsRun * (o.Epochs - epoch), val?.Top5);
                _channel.Info(MessageSensitivity.None, $"{o.ModelName} {progress}");
                if (val is not null)
                    _channel.Trace(MessageSensitivity.None, "Per-class validation accuracy: " + string.Join(", ",
                        ConfusionMatrix.PerClassAccuracy(val.Confusion).Select((a, i) => $"{_classNames[i]} {a:F3}")));
                report?.Write(new EpochMetrics(epoch, step, progress.TrainLoss, progress.TrainAccuracy, val?.Loss, val?.Top1, val?.Top5,
                    lr, progress.ImagesPerSecond, elapsed.TotalSeconds), val?.Confusion);

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
            FreezeBackbone(false, log: false);
        }
        if (o.BatchNormRecalibrationBatches > 0) RecalibrateBatchNorm(train, batch, shuffle);
        _model.zero_grad(set_to_none: true); // scoring needs no gradients: free them
        _model.eval();
    }

    /// <summary>Network input for a training batch: augmented (per image, from <paramref name="generator"/>) and normalised.</summary>
    private Tensor Augment(Tensor pixels, Generator generator)
    {
        if (_augmenter is null) return _preprocessing.Normalize(pixels, _device);
        var unit = pixels.to(_device).to(ScalarType.Float32).div_(255);
        var x = _preprocessing.NormalizeUnitRange(_augmenter.Apply(unit, generator));
        return _augmenter.Erases ? _augmenter.ApplyErasing(x, generator) : x;
    }

    /// <summary>Loss, top-1/top-5 accuracy and confusion matrix in eval mode; restores train mode.</summary>
    public Evaluation Evaluate(LabeledImages data)
    {
        _model.eval();
        double lossSum = 0;
        long top1 = 0, top5 = 0;
        int k = Math.Min(5, _classes);
        var confusion = new long[_classes, _classes];
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
                ConfusionMatrix.Add(confusion, y, predicted);
            }
        }
        SetTrainMode();
        return new Evaluation(lossSum / data.Count, (double)top1 / data.Count, (double)top5 / data.Count, confusion);
    }

    /// <summary>
    /// Freezes or unfreezes everything but the classifier. Frozen parameters do not require gradients, so they get none and
    /// the optimizer (which skips parameters without a gradient) leaves them untouched, weight decay and momentum included;
    /// frozen batch-norm layers run in eval mode, so they normalise with the starting running statistics and do not update
    /// them. The optimizer is created with every parameter, so unfreezing needs no new optimizer.
    /// </summary>
    private void FreezeBackbone(bool frozen, bool log = true)
    {
        if (_classifier is not null && frozen != _backboneFrozen)
        {
            foreach (var (name, parameter) in _model.named_parameters())
                if (!ClassifierHead.Owns(_classifier, name)) parameter.requires_grad = !frozen;
            _model.zero_grad(set_to_none: true);
            _backboneFrozen = frozen;
            if (log) _channel.Info(MessageSensitivity.None, frozen
                ? $"Backbone frozen: training only the classifier ('{_classifier}') for {_options.FreezeBackboneEpochs} epoch(s)."
                : "Backbone unfrozen: training the whole network.");
        }
        SetTrainMode();
    }

    /// <summary>Train mode, except batch norm in a frozen backbone.</summary>
    private void SetTrainMode()
    {
        _model.train();
        if (_backboneFrozen)
            foreach (var norm in _model.modules().OfType<NormBase>()) norm.eval();
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
        ImageClassifierOptimizer.Sgd => ParameterGroups.CreateSgd(_model, lr, _options.Momentum, _options.Nesterov, _options.EffectiveWeightDecay),
        ImageClassifierOptimizer.AdamW => ParameterGroups.CreateAdamW(_model, lr, _options.EffectiveWeightDecay),
        _ => throw new ArgumentOutOfRangeException(nameof(_options.Optimizer), _options.Optimizer, "Unknown optimizer."),
    };
}

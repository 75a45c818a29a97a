using System.Diagnostics;
using System.Globalization;
using Lightweight.ML.Sweep;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lightweight.ML;

/// <summary>
/// A sweep over the zoo's architectures, sizes and a few hyper-parameters under a time budget, like ML.NET AutoML's
/// experiments: successive halving trains every candidate briefly, then the best third (by default) for three times as
/// long, up to full training; every trial is measured (validation top-1, parameters, MFLOPs, single-image and batch
/// latency on this machine, training time). Create it with <c>mlContext.LightweightAuto().CreateImageClassificationExperiment(...)</c>.
/// <code>
/// var experiment = mlContext.LightweightAuto().CreateImageClassificationExperiment(new ImageClassificationExperimentSettings
/// {
///     Models = ["shufflenetv2-0.5x", "shufflenetv2-1.0x", "ghostnet-1.0"],
///     MaxExperimentTime = TimeSpan.FromMinutes(20),
///     ConfigureTrainer = o => o.ImageSize = 64,
/// });
/// var result = experiment.Execute(trainData);            // key label + image columns, as the trainers take
/// Console.WriteLine(result.BestTrial);
/// </code>
/// </summary>
public sealed class ImageClassificationExperiment
{
    private readonly MLContext _ml;

    internal ImageClassificationExperiment(MLContext ml, ImageClassificationExperimentSettings settings)
    {
        _ml = ml;
        Settings = settings ?? throw new ArgumentNullException(nameof(settings));
        settings.Validate();
    }

    /// <summary>The settings this experiment runs with (checked again by <see cref="Execute"/>).</summary>
    public ImageClassificationExperimentSettings Settings { get; }

    /// <summary>
    /// Runs the sweep on <paramref name="train"/> (the trainers' input: a key-typed label column and an image column)
    /// until every planned trial ran or the budget is spent, and ranks the trials on <paramref name="validation"/> (same
    /// form), or on a stratified hold-out of <paramref name="train"/> when it is null. With an output folder, trials
    /// finished by an earlier run are read back instead of trained again. Throws <see cref="TimeoutException"/> when the
    /// budget ends before any trial finishes, and <see cref="OperationCanceledException"/> when the settings' token fires.
    /// </summary>
    public ImageClassificationExperimentResult Execute(IDataView train, IDataView? validation = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        var s = Settings;
        s.Validate();
        var clock = Stopwatch.StartNew();
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(s.CancellationToken);
        budget.CancelAfter(s.MaxExperimentTime);
        var log = SweepLog.Open(s.OutputDirectory);
        int classes = CountClasses(train);

        // Measure every model first (seconds), so budgets can exclude models before any training.
        var profiles = new Dictionary<string, ModelProfile>();
        var excluded = new List<string>();
        foreach (var name in s.Models)
        {
            s.CancellationToken.ThrowIfCancellationRequested();
            var profile = ModelProfiler.Measure(TrialOptions(name, null, 0.1, 1, null), classes, s.LatencyBatchSize, runs: 10, warmup: 2);
            profiles[name] = profile;
            if (!WithinBudget(profile.SingleImageMilliseconds, profile.Parameters)) excluded.Add(name);
        }

        if (excluded.Count == s.Models.Count)
        {
            var fastest = profiles.Values.MinBy(p => s.Objective == SweepObjective.AccuracyUnderSize ? p.Parameters : p.SingleImageMilliseconds)!;
            throw s.Objective == SweepObjective.AccuracyUnderSize
                ? new ArgumentException($"Every model has more than MaxParameters = {s.MaxParameters:N0} parameters (smallest: {fastest.Model}, {fastest.Parameters:N0}).", nameof(s.MaxParameters))
                : new ArgumentException($"Every model is slower than MaxLatencyMilliseconds = {s.MaxLatencyMilliseconds} ms per image (fastest: {fastest.Model}, {fastest.SingleImageMilliseconds:F2} ms).", nameof(s.MaxLatencyMilliseconds));
        }
        var candidates = (from name in s.Models.Except(excluded).OrderBy(n => profiles[n].MFlops)
                          from lr in s.LearningRates
                          from smoothing in s.LabelSmoothings
                          select (Model: name, LearningRate: lr, Smoothing: smoothing)).ToList();
        ITransformer? bestModel = null;
        TrialResult? bestTrial = null;
        bool exhausted = false;
        var visited = new List<TrialResult>(); // this run's trials, trained or read back (the folder may hold others)
        try
        {
            int rung = 0;
            foreach (int epochs in Rungs(s.EffectiveMinEpochs, s.Epochs, s.ReductionFactor))
            {
                var finished = new List<((string Model, double? LearningRate, double Smoothing) Candidate, TrialResult Result)>();
                foreach (var c in candidates)
                {
                    var trial = new TrialSettings(c.Model, c.LearningRate, c.Smoothing, epochs, rung);
                    var options = TrialOptions(c.Model, c.LearningRate, c.Smoothing, epochs, validation);
                    string key = Key(trial, options, validation is not null);
                    if (!log.TryGet(key, out var result))
                    {
                        if (budget.IsCancellationRequested) { exhausted = !s.CancellationToken.IsCancellationRequested; break; }
                        var run = RunTrial(log.NextId, trial, options, profiles[c.Model], train, log, clock, budget.Token);
                        if (run is null) { exhausted = true; break; }
                        (result, var model) = run.Value;
                        log.Record(key, result, Front(log.Trials));
                        if (model is not null && IsBetter(result, bestTrial)) { (bestModel as IDisposable)?.Dispose(); (bestModel, bestTrial) = (model, result); }
                        else (model as IDisposable)?.Dispose();
                    }
                    else
                    {
                        s.Progress?.Report(new SweepProgress(result.Id, trial, null, result, clock.Elapsed));
                    }
                    finished.Add((c, result));
                    visited.Add(result);
                }
                s.CancellationToken.ThrowIfCancellationRequested();
                if (exhausted) break;
                int keep = (int)Math.Ceiling(candidates.Count / (double)s.ReductionFactor);
                candidates = finished.Where(f => f.Result.Status == TrialStatus.Completed)
                    .OrderByDescending(f => f.Result.ValidationAccuracy).Take(keep).Select(f => f.Candidate).ToList();
                if (candidates.Count == 0) break;
                rung++;
            }
        }
        catch
        {
            (bestModel as IDisposable)?.Dispose();
            throw;
        }

        var trials = visited.OrderBy(t => t.Id).ToList();
        var best = trials.Where(t => t.Status == TrialStatus.Completed && WithinBudget(t.SingleImageMilliseconds, t.Parameters))
            .Aggregate((TrialResult?)null, (b, t) => IsBetter(t, b) ? t : b);
        if (best is null)
        {
            (bestModel as IDisposable)?.Dispose();
            if (trials.Count == 0)
                throw new TimeoutException($"The experiment's MaxExperimentTime ({s.MaxExperimentTime}) ended before the first trial finished; " +
                                           "give it more time, fewer epochs (MinEpochs) or smaller models.");
            return new ImageClassificationExperimentResult(trials, null, null, Front(trials), exhausted, profiles.Values.ToList(), excluded);
        }
        if (!ReferenceEquals(best, bestTrial) && best != bestTrial)
        {
            (bestModel as IDisposable)?.Dispose();
            bestModel = best.ModelPath is { } path && File.Exists(path) ? _ml.Model.LoadPipeline(path, out _) : null;
        }
        return new ImageClassificationExperimentResult(trials, best, bestModel, Front(trials), exhausted, profiles.Values.ToList(), excluded);
    }

    /// <summary>The epochs of each rung: min, min·η, min·η², … with the last one <paramref name="max"/>.</summary>
    internal static IReadOnlyList<int> Rungs(int min, int max, int factor)
    {
        var rungs = new List<int>();
        for (long e = min; e < max; e *= factor) rungs.Add((int)e);
        rungs.Add(max);
        return rungs;
    }

    private (TrialResult Result, ITransformer? Model)? RunTrial(int id, TrialSettings trial, ImageClassificationTrainerOptions options,
        ModelProfile profile, IDataView train, SweepLog log, Stopwatch clock, CancellationToken token)
    {
        var s = Settings;
        var epochs = new List<TrainingProgress>();
        options.CancellationToken = token;
        options.Progress = new Reporter<TrainingProgress>(p =>
        {
            epochs.Add(p);
            s.Progress?.Report(new SweepProgress(id, trial, p, null, clock.Elapsed));
        });
        s.Progress?.Report(new SweepProgress(id, trial, null, null, clock.Elapsed));
        var result = new TrialResult
        {
            Id = id, Settings = trial, Status = TrialStatus.Completed, LearningRate = options.EffectiveLearningRate,
            Parameters = profile.Parameters, MFlops = profile.MFlops, SingleImageMilliseconds = profile.SingleImageMilliseconds,
            BatchMillisecondsPerImage = profile.BatchMillisecondsPerImage,
        };
        var fitClock = Stopwatch.StartNew();
        ImageClassificationTransformer model;
        try
        {
            model = _ml.MulticlassClassification.Trainers.ImageClassifier(options).Fit(train);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            s.CancellationToken.ThrowIfCancellationRequested();
            return null; // the budget ended during this trial: it does not count
        }
        catch (TrainingDivergedException e)
        {
            result = result with { Status = TrialStatus.Diverged, Error = e.Message, TrainingSeconds = fitClock.Elapsed.TotalSeconds };
            s.Progress?.Report(new SweepProgress(id, trial, null, result, clock.Elapsed));
            return (result, null);
        }
        var bestEpoch = epochs.Where(p => p.ValidationAccuracy is not null).MaxBy(p => p.ValidationAccuracy!.Value)
                        ?? throw new InvalidOperationException($"Trial {id} ({trial.Model}) reported no validation accuracy.");
        string? modelPath = log.ModelPath(id);
        if (modelPath is not null) _ml.Model.SavePipeline(model, train.Schema, modelPath);
        result = result with
        {
            ValidationAccuracy = bestEpoch.ValidationAccuracy!.Value, ValidationTop5 = bestEpoch.ValidationTop5,
            ValidationLoss = bestEpoch.ValidationLoss, BestEpoch = bestEpoch.Epoch, TrainingSeconds = fitClock.Elapsed.TotalSeconds,
            ModelPath = modelPath,
        };
        s.Progress?.Report(new SweepProgress(id, trial, null, result, clock.Elapsed));
        return (result, model);
    }

    private ImageClassificationTrainerOptions TrialOptions(string model, double? learningRate, double smoothing, int epochs, IDataView? validation)
    {
        var options = ModelNames.CreateOptions(model);
        Settings.ConfigureTrainer?.Invoke(options);
        options.LearningRate = learningRate;
        options.LabelSmoothing = smoothing;
        options.Epochs = epochs;
        options.WarmupEpochs = Math.Min(options.WarmupEpochs, epochs - 1);
        options.Seed = Settings.Seed;
        options.ValidationSet = validation;
        options.ValidationFraction = validation is null ? Settings.ValidationFraction : 0;
        options.RestoreBestWeights = true;
        options.EarlyStoppingPatience = null;
        options.OutputDirectory = null;
        options.Resume = false;
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"ConfigureTrainer left invalid options for {model}: {e.Message}", nameof(Settings.ConfigureTrainer), e);
        }
        return options;
    }

    /// <summary>Identifies a trial across runs: what is swept plus the settings that change its outcome.</summary>
    private static string Key(TrialSettings t, ImageClassificationTrainerOptions o, bool givenValidation) => string.Create(CultureInfo.InvariantCulture,
        $"{t.Model}|lr={t.LearningRate?.ToString("R", CultureInfo.InvariantCulture) ?? "default"}|ls={t.LabelSmoothing:R}|epochs={t.Epochs}|" +
        $"size={o.ImageSize}|batch={o.BatchSize}|channels={o.InputChannels}|seed={o.Seed}|" +
        $"validation={(givenValidation ? "given" : o.ValidationFraction.ToString("R", CultureInfo.InvariantCulture))}");

    private bool WithinBudget(double latencyMilliseconds, long parameters) => Settings.Objective switch
    {
        SweepObjective.AccuracyUnderLatency => latencyMilliseconds <= Settings.MaxLatencyMilliseconds,
        SweepObjective.AccuracyUnderSize => parameters <= Settings.MaxParameters,
        _ => true,
    };

    /// <summary>Higher accuracy wins; on a tie the faster model, then the earlier trial.</summary>
    private static bool IsBetter(TrialResult candidate, TrialResult? best)
        => candidate.Status == TrialStatus.Completed &&
           (best is null || candidate.ValidationAccuracy > best.ValidationAccuracy ||
            (candidate.ValidationAccuracy == best.ValidationAccuracy && candidate.SingleImageMilliseconds < best.SingleImageMilliseconds));

    private static IReadOnlyList<TrialResult> Front(IEnumerable<TrialResult> trials)
        => ParetoFront.Compute(trials.Where(t => t.Status == TrialStatus.Completed), t => t.ValidationAccuracy, t => t.SingleImageMilliseconds);

    private int CountClasses(IDataView train)
    {
        var probe = ModelNames.CreateOptions(Settings.Models[0]);
        Settings.ConfigureTrainer?.Invoke(probe);
        var column = train.Schema.GetColumnOrNull(probe.LabelColumnName)
                     ?? throw new ArgumentException($"The training data has no label column '{probe.LabelColumnName}'.", nameof(train));
        return column.Type is KeyDataViewType key && key.Count is > 0 and <= int.MaxValue
            ? (int)key.Count
            : throw new ArgumentException($"The label column '{probe.LabelColumnName}' must be key-typed (use MapValueToKey); it is {column.Type}.", nameof(train));
    }

    /// <summary>An <see cref="IProgress{T}"/> that reports synchronously on the training thread (unlike <see cref="Progress{T}"/>).</summary>
    private sealed class Reporter<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

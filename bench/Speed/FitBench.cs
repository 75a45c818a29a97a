using System.Diagnostics;
using Microsoft.ML;

namespace Lightweight.ML.Bench.Speed;

/// <summary>
/// <c>fit</c>: training throughput from a PNG folder through the ML.NET pipeline (LoadImagesFromFolder → MapValueToKey →
/// LoadImages → trainer), decoding included. The trainer decodes every image once, then trains from memory, so besides
/// the whole-fit throughput (epochs × images / wall time) the per-epoch throughput of the training loop and the
/// one-off set-up (decode, resize, model creation) are reported.
/// <c>memory</c>: the same fit over more epochs, with the resident set size after every epoch and the peak.
/// </summary>
internal static class FitBench
{
    public static void Fit(BenchSettings s, int epochs)
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadImagesFromFolder(s.TrainFolder);
        long images = train.GetRowCount() ?? throw new InvalidOperationException("The image folder view has no row count.");
        if (s.Warmup > 0) WarmUp(ml, s, train);

        var runs = new List<FitRun>();
        for (int r = 0; r < s.Repeats; r++)
        {
            runs.Add(FitOnce(ml, s, train, epochs));
            Report.Note($"fit {s.Model} {s.ImageSize}px repeat {r + 1}/{s.Repeats}: {Report.F(runs[^1].WallSeconds)} s, " +
                        $"epochs at {string.Join(", ", runs[^1].Epochs.Select(e => Report.F(e.ImagesPerSecond)))} img/s");
        }
        double wall = Stats.Median(runs.Select(r => r.WallSeconds));
        var steady = runs.SelectMany(r => r.Epochs.Skip(epochs > 1 ? 1 : 0)).Select(e => e.ImagesPerSecond).ToList();
        Report.Emit("fit", "pipeline", s,
            ("images", images), ("epochs", epochs), ("repeats", s.Repeats),
            ("fit_s", wall), ("images_per_s", epochs * images / wall),
            ("steady_epoch_images_per_s", Stats.Median(steady)),
            ("first_epoch_images_per_s", Stats.Median(runs.Select(r => r.Epochs[0].ImagesPerSecond))),
            ("setup_s", Stats.Median(runs.Select(r => r.SetupSeconds))),
            ("fit_s_all", runs.Select(r => Math.Round(r.WallSeconds, 3)).ToArray()),
            ("epoch_images_per_s", runs.Select(r => r.Epochs.Select(e => Math.Round(e.ImagesPerSecond, 1)).ToArray()).ToArray()),
            ("peak_rss_mib", Memory.PeakRssMiB()));
    }

    public static void MemoryOverEpochs(BenchSettings s, int epochs)
    {
        s.PrepareTorch(); // libtorch loaded before the baseline, so the baseline is the runtime's own footprint
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadImagesFromFolder(s.TrainFolder);
        long images = train.GetRowCount() ?? 0;
        double baseline = Memory.RssMiB();
        var run = FitOnce(ml, s, train, epochs);
        Report.Emit("memory", "pipeline", s,
            ("images", images), ("epochs", epochs), ("fit_s", run.WallSeconds),
            ("baseline_rss_mib", baseline),
            ("rss_mib_per_epoch", run.Epochs.Select(e => Math.Round(e.RssMiB, 1)).ToArray()),
            ("peak_rss_mib", Memory.PeakRssMiB()),
            ("epoch_images_per_s", run.Epochs.Select(e => Math.Round(e.ImagesPerSecond, 1)).ToArray()),
            ("dataset_mib", images * 3.0 * s.ImageSize * s.ImageSize / (1 << 20)));
    }

    /// <summary>One untimed epoch on 2 × batch images: JIT, libtorch and oneDNN set-up out of the timed runs.</summary>
    private static void WarmUp(MLContext ml, BenchSettings s, IDataView train)
    {
        var few = ml.Data.TakeRows(ml.Data.ShuffleRows(train, seed: 1), 2L * s.BatchSize);
        var fitted = s.CreatePipeline(ml, s.CreateOptions(epochs: 1)).Fit(few);
        BenchSettings.DisposeAll(fitted);
    }

    private static FitRun FitOnce(MLContext ml, BenchSettings s, IDataView train, int epochs)
    {
        var recorder = new EpochRecorder();
        var pipeline = s.CreatePipeline(ml, s.CreateOptions(epochs, recorder));
        recorder.Start();
        var fitted = pipeline.Fit(train);
        double wall = recorder.Clock.Elapsed.TotalSeconds;
        BenchSettings.DisposeAll(fitted);
        // Time before the training loop's own clock started: reading and decoding the images, building the model.
        double setup = recorder.Epochs.Count > 0 ? recorder.Epochs[0].AtSeconds - recorder.Epochs[0].Progress.Elapsed.TotalSeconds : double.NaN;
        return new FitRun(wall, setup, recorder.Epochs);
    }

    private sealed record FitRun(double WallSeconds, double SetupSeconds, IReadOnlyList<EpochRecord> Epochs);

    private sealed record EpochRecord(TrainingProgress Progress, double AtSeconds, double RssMiB)
    {
        public double ImagesPerSecond => Progress.ImagesPerSecond;
    }

    /// <summary>Synchronous progress sink (Progress&lt;T&gt; would post to the thread pool and blur the timestamps).</summary>
    private sealed class EpochRecorder : IProgress<TrainingProgress>
    {
        public Stopwatch Clock { get; } = new();
        public List<EpochRecord> Epochs { get; } = [];
        public void Start() => Clock.Restart();
        public void Report(TrainingProgress value) => Epochs.Add(new EpochRecord(value, Clock.Elapsed.TotalSeconds, Memory.RssMiB()));
    }
}

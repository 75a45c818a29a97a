using System.Collections.Concurrent;
using System.Diagnostics;
using Lightweight.ML.Data;
using Microsoft.ML;

namespace Lightweight.ML.Torture;

/// <summary>
/// Trains a small model, predicts every image once with a single PredictionEngine (the serial reference), then lets
/// <c>threads</c> threads make <c>predictionsPerThread</c> predictions each through one PredictionEnginePool, visiting
/// the images in different orders, while a sampler records the process's working set. Checks that every pooled
/// prediction equals the serial one exactly and that the working set grows by at most <c>maxGrowthMb</c> between 10 %
/// of the predictions (pool and caches warm) and the end.
/// </summary>
internal sealed class ConcurrencyTorture(DirectoryInfo? data, int seed, int threads, int predictionsPerThread, int maxGrowthMb)
{
    public int Run()
    {
        var work = TortureData.NewWorkFolder("concurrency");
        try
        {
            return Run(TortureData.Prepare(data, work, classes: 3, perClass: 30));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private int Run(string folder)
    {
        var ml = new MLContext(seed: seed);
        // One libtorch thread per forward: the parallelism is the scoring threads' (intra-op threads would compete with them).
        var options = new ShuffleNetV2Options
        {
            ModelSize = ShuffleNetV2Size.X0_5, ImageSize = 16, Epochs = 4, BatchSize = 15, LearningRate = 0.05, Seed = seed, NumberOfThreads = 1,
        };
        var clock = Stopwatch.StartNew();
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
            .Append(ml.MulticlassClassification.Trainers.ShuffleNetV2(options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Fit(ml.Data.LoadImagesFromFolder(folder));
        var inputs = ImageFolder.List(folder).Select(r => new ImageInput { ImagePath = r.ImagePath }).ToArray();
        Console.WriteLine($"Concurrency torture: {options.ModelName} trained on {inputs.Length} images in {clock.Elapsed.TotalSeconds:F1} s; " +
                          $"{threads} threads x {predictionsPerThread:N0} predictions through one PredictionEnginePool");

        ImagePrediction[] serial;
        using (var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(model, new PredictionEngineOptions { OwnsTransformer = false }))
            serial = inputs.Select(engine.Predict).ToArray();
        int distinct = serial.Select(p => p.PredictedLabel).Distinct().Count();
        Console.WriteLine($"Serial reference: {inputs.Length} predictions, {distinct} distinct labels, " +
                          $"{serial.Select(p => string.Join(",", p.Score)).Distinct().Count()} distinct score vectors");

        using var pool = ml.Model.CreatePredictionEnginePool<ImageInput, ImagePrediction>(model);
        long total = (long)threads * predictionsPerThread, done = 0;
        var mismatches = new ConcurrentBag<string>();
        var samples = new List<(double Seconds, long Done, long WorkingSet)>();
        using var stopSampling = new CancellationTokenSource();
        var sampler = new Thread(() =>
        {
            using var self = Process.GetCurrentProcess();
            var started = Stopwatch.StartNew();
            do
            {
                self.Refresh();
                lock (samples) samples.Add((started.Elapsed.TotalSeconds, Interlocked.Read(ref done), self.WorkingSet64));
            } while (!stopSampling.Token.WaitHandle.WaitOne(100));
        }) { IsBackground = true };
        long workingSetBefore = CurrentWorkingSet();
        sampler.Start();

        clock.Restart();
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < predictionsPerThread; i++)
            {
                int k = (int)(((long)i * 7 + t * 13) % inputs.Length);
                var p = pool.Predict(inputs[k]);
                if (p.PredictedLabel != serial[k].PredictedLabel || !p.Score.SequenceEqual(serial[k].Score))
                    mismatches.Add($"thread {t}, call {i}, image {k}: {p.PredictedLabel} [{string.Join(", ", p.Score)}] vs " +
                                   $"{serial[k].PredictedLabel} [{string.Join(", ", serial[k].Score)}]");
                Interlocked.Increment(ref done);
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        double seconds = clock.Elapsed.TotalSeconds;
        stopSampling.Cancel();
        sampler.Join();
        foreach (var d in ((IEnumerable<ITransformer>)model).OfType<IDisposable>()) d.Dispose();

        // Working set at each tenth of the predictions, and the peak.
        Console.WriteLine();
        Console.WriteLine(" done  | predictions | seconds | working set");
        Console.WriteLine("-------+-------------+---------+------------");
        long At(double fraction) => samples.First(s => s.Done >= fraction * total || s == samples[^1]).WorkingSet;
        Console.WriteLine($" start | {0,11:N0} | {0,7:F1} | {workingSetBefore >> 20,7} MB");
        for (int tenth = 1; tenth <= 10; tenth++)
        {
            var s = samples.First(x => x.Done >= tenth * total / 10 || x == samples[^1]);
            Console.WriteLine($" {tenth * 10,3} % | {s.Done,11:N0} | {s.Seconds,7:F1} | {s.WorkingSet >> 20,7} MB");
        }
        long atTenPercent = At(0.1), end = samples[^1].WorkingSet, peak = samples.Max(s => s.WorkingSet);
        long growthMb = (end - atTenPercent) >> 20;
        Console.WriteLine();
        Console.WriteLine($"Predictions: {total:N0} in {seconds:F1} s ({total / seconds:N0}/s); mismatches with the serial results: {mismatches.Count}");
        Console.WriteLine($"Working set: {workingSetBefore >> 20} MB before, {atTenPercent >> 20} MB at 10 %, peak {peak >> 20} MB, " +
                          $"{end >> 20} MB at the end: growth after warm-up {growthMb} MB (limit {maxGrowthMb} MB); " +
                          $"{samples.Count} samples; idle engines in the pool {pool.IdleCount}");
        foreach (var m in mismatches.Take(5)) Console.WriteLine($"MISMATCH: {m}");
        bool pass = mismatches.IsEmpty && growthMb <= maxGrowthMb;
        Console.WriteLine(pass ? "PASS" : "FAIL");
        return pass ? 0 : 1;
    }

    private static long CurrentWorkingSet()
    {
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }
}

using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lightweight.ML.Bench.Speed;

/// <summary>
/// <c>score</c>: batch scoring of the test folder through <c>Transform</c> (decoding included), and the same network's
/// batched forward on a tensor made in advance. <c>latency</c>: one image at a time through a PredictionEngine (file path
/// in, prediction out: decode, resize, forward), and the network's batch-1 forward on a tensor.
/// </summary>
internal static class ScoringBench
{
    public static void Score(BenchSettings s, int steps)
    {
        var ml = new MLContext(seed: 1);
        var chain = s.FitScoringModel(ml);
        var classifier = BenchSettings.Classifier(chain);
        var test = ml.Data.LoadImagesFromFolder(s.TestFolder);
        long images = test.GetRowCount() ?? 0;

        double Pass()
        {
            var clock = Stopwatch.StartNew();
            var scored = chain.Transform(test);
            var column = scored.Schema["Score"];
            long rows = 0;
            using (var cursor = scored.GetRowCursor([column]))
            {
                var getter = cursor.GetGetter<VBuffer<float>>(column);
                VBuffer<float> score = default;
                while (cursor.MoveNext())
                {
                    getter(ref score);
                    rows++;
                }
            }
            return rows / clock.Elapsed.TotalSeconds;
        }
        for (int i = 0; i < Math.Min(1, s.Warmup); i++) Pass(); // one untimed pass at most: a pass is the whole folder
        var rates = Enumerable.Range(0, s.Repeats).Select(_ => Pass()).ToList();
        Report.Emit("score", "transform", s, ("images", images), ("repeats", s.Repeats),
            ("images_per_s", Stats.Median(rates)), ("images_per_s_all", RawBench.Round(rates)));

        var forward = RawBench.ForwardRates(classifier.Model, s, steps);
        Report.Emit("score", "raw_forward", s, ("steps", steps), ("repeats", s.Repeats),
            ("images_per_s", Stats.Median(forward)), ("images_per_s_all", RawBench.Round(forward)));
        classifier.Dispose();
    }

    public static void Latency(BenchSettings s, int count)
    {
        var ml = new MLContext(seed: 1);
        var chain = s.FitScoringModel(ml);
        var classifier = BenchSettings.Classifier(chain);
        var files = Directory.EnumerateFiles(s.TestFolder, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0) throw new ArgumentException($"No PNG files under '{s.TestFolder}'.");

        double[] times;
        using (var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(chain,
                   new PredictionEngineOptions { OwnsTransformer = false }))
        {
            var inputs = files.Select(f => new ImageInput { ImagePath = f }).ToArray(); // made before the clock starts
            var output = new ImagePrediction();
            times = RawBench.CallMilliseconds(s, count, n => engine.Predict(inputs[n % inputs.Length], ref output));
        }
        EmitLatency("prediction_engine", s, times);
        EmitLatency("raw_forward_b1", s, RawBench.SingleImageMilliseconds(classifier.Model, s, count));
        classifier.Dispose();
    }

    public static void EmitLatency(string impl, BenchSettings s, double[] milliseconds)
        => Report.Emit("latency", impl, s, ("count", milliseconds.Length),
            ("p50_ms", Stats.Percentile(milliseconds, 50)), ("p99_ms", Stats.Percentile(milliseconds, 99)),
            ("mean_ms", milliseconds.Average()), ("min_ms", milliseconds.Min()));
}

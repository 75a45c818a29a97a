using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lightweight.ML.Bench.Speed;

/// <summary>
/// <c>score</c>: batch scoring of the test folder through <c>Transform</c> (decoding included), and the same network's
/// batched forward on a tensor made in advance. <c>latency</c>: one image at a time through a PredictionEngine (file path
/// in, prediction out: decode, resize, forward), and the network's batch-1 forward on a tensor. The fitted model scores
/// with the <see cref="ScoringEngine"/> given (the library's default: Auto, ONNX Runtime on the CPU); besides TorchSharp's
/// raw forward (the PyTorch comparison), the engine's own forward on pre-decoded pixels is timed (<c>engine_forward</c>),
/// the baseline of the pipeline's overhead.
/// </summary>
internal static class ScoringBench
{
    public static void Score(BenchSettings s, int steps, ScoringEngine engine)
    {
        var ml = new MLContext(seed: 1);
        var chain = s.FitScoringModel(ml);
        var classifier = BenchSettings.Classifier(chain);
        classifier.ScoringEngine = engine;
        string used = classifier.EffectiveScoringEngine.ToString();
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
        Report.Emit("score", "transform", s, ("engine", used), ("images", images), ("repeats", s.Repeats),
            ("images_per_s", Stats.Median(rates)), ("images_per_s_all", RawBench.Round(rates)));

        var engineRates = EngineForwardRates(classifier, s, steps);
        Report.Emit("score", "engine_forward", s, ("engine", used), ("steps", steps), ("repeats", s.Repeats),
            ("images_per_s", Stats.Median(engineRates)), ("images_per_s_all", RawBench.Round(engineRates)));

        var forward = RawBench.ForwardRates(classifier.Model, s, steps);
        Report.Emit("score", "raw_forward", s, ("steps", steps), ("repeats", s.Repeats),
            ("images_per_s", Stats.Median(forward)), ("images_per_s_all", RawBench.Round(forward)));
        classifier.Dispose();
    }

    public static void Latency(BenchSettings s, int count, ScoringEngine engine)
    {
        var ml = new MLContext(seed: 1);
        var chain = s.FitScoringModel(ml);
        var classifier = BenchSettings.Classifier(chain);
        classifier.ScoringEngine = engine;
        string used = classifier.EffectiveScoringEngine.ToString();
        var files = Directory.EnumerateFiles(s.TestFolder, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0) throw new ArgumentException($"No PNG files under '{s.TestFolder}'.");

        double[] times;
        int[] gcBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        using var gcListener = new GcReasons();
        using (var predictor = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(chain,
                   new PredictionEngineOptions { OwnsTransformer = false }))
        {
            var inputs = files.Select(f => new ImageInput { ImagePath = f }).ToArray(); // made before the clock starts
            var output = new ImagePrediction();
            times = RawBench.CallMilliseconds(s, count, n => predictor.Predict(inputs[n % inputs.Length], ref output));
        }
        // .NET collections during the warm-up and timed predictions: a gen-2 collection stops every managed thread.
        int[] gcs = [GC.CollectionCount(0) - gcBefore[0], GC.CollectionCount(1) - gcBefore[1], GC.CollectionCount(2) - gcBefore[2]];
        EmitLatency("prediction_engine", s, times, ("engine", used), ("gc_collections_gen0_1_2", gcs), ("gc_reasons", string.Join(",", gcListener.Seen)));
        EmitRowPath(classifier, s, files, count, used);
        EmitLatency("engine_forward_b1", s, EngineSingleImageMilliseconds(classifier, s, count), ("engine", used));
        EmitLatency("raw_forward_b1", s, RawBench.SingleImageMilliseconds(classifier.Model, s, count));
        classifier.Dispose();
    }

    /// <summary>
    /// The PredictionEngine's per-row work in its three parts, each timed on its own over the same files: decode
    /// (<c>MLImage.CreateFromFile</c>, as LoadImages does), preprocessing (<see cref="Data.ImageBatchBuilder"/>: to the
    /// network's channels and size as uint8 planes) and the engine's scoring call. p50 of each, in milliseconds.
    /// </summary>
    private static void EmitRowPath(ImageClassificationTransformer classifier, BenchSettings s, string[] files, int count, string engine)
    {
        var probabilities = new float[classifier.ClassNames.Count];
        int gen2 = GC.CollectionCount(2);
        double[] decode = RawBench.CallMilliseconds(s, count, n => MLImage.CreateFromFile(files[n % files.Length]).Dispose());
        int decodeGen2 = GC.CollectionCount(2) - gen2;
        var images = files.Take(Math.Min(files.Length, 64)).Select(MLImage.CreateFromFile).ToArray();
        using var builder = new Data.ImageBatchBuilder(classifier.Preprocessing, maxRunLength: 1);
        gen2 = GC.CollectionCount(2);
        double[] preprocess = RawBench.CallMilliseconds(s, count, n =>
        {
            builder.Add(images[n % images.Length]);
            builder.Build().Dispose();
        });
        int preprocessGen2 = GC.CollectionCount(2) - gen2;
        gen2 = GC.CollectionCount(2);
        double[] score = RawBench.CallMilliseconds(s, count, n =>
        {
            builder.Add(images[n % images.Length]);
            using var pixels = builder.Build();
            classifier.Score(pixels, probabilities);
        });
        int scoreGen2 = GC.CollectionCount(2) - gen2;
        foreach (var image in images) image.Dispose();
        Report.Emit("latency", "row_path", s, ("engine", engine), ("count", count),
            ("decode_p50_ms", Stats.Percentile(decode, 50)), ("preprocess_p50_ms", Stats.Percentile(preprocess, 50)),
            ("preprocess_and_score_p50_ms", Stats.Percentile(score, 50)), ("decode_gen2_collections", decodeGen2),
            ("preprocess_gen2_collections", preprocessGen2), ("preprocess_and_score_gen2_collections", scoreGen2));
    }

    /// <summary>Images per second of the classifier's own scoring call (its engine) on a pre-made uint8 batch.</summary>
    private static List<double> EngineForwardRates(ImageClassificationTransformer classifier, BenchSettings s, int steps)
    {
        using var pixels = RandomPixels(classifier, s.BatchSize);
        var probabilities = new float[s.BatchSize * classifier.ClassNames.Count];
        return RawBench.Repeat(s, steps, () => classifier.Score(pixels, probabilities));
    }

    /// <summary>Milliseconds per call of the classifier's own scoring call (its engine) on one pre-made image.</summary>
    private static double[] EngineSingleImageMilliseconds(ImageClassificationTransformer classifier, BenchSettings s, int count)
    {
        using var pixels = RandomPixels(classifier, 1);
        var probabilities = new float[classifier.ClassNames.Count];
        return RawBench.CallMilliseconds(s, count, _ => classifier.Score(pixels, probabilities));
    }

    private static TorchSharp.torch.Tensor RandomPixels(ImageClassificationTransformer classifier, int n)
    {
        var p = classifier.Preprocessing;
        return TorchSharp.torch.randint(0, 256, [n, p.Channels, p.ImageSize, p.ImageSize], TorchSharp.torch.ScalarType.Byte);
    }

    public static void EmitLatency(string impl, BenchSettings s, double[] milliseconds, params (string Key, object? Value)[] extra)
        => Report.Emit("latency", impl, s, [.. extra, ("count", milliseconds.Length),
            ("p50_ms", Stats.Percentile(milliseconds, 50)), ("p99_ms", Stats.Percentile(milliseconds, 99)),
            ("mean_ms", milliseconds.Average()), ("min_ms", milliseconds.Min())]);
}

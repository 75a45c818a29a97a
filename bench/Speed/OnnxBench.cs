using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace Lightweight.ML.Bench.Speed;

/// <summary>
/// <c>onnx</c>: the network exported with <see cref="OnnxExport"/> (pixels 0–255 in, probabilities out, normalisation in the
/// graph) and scored with ONNX Runtime's InferenceSession on tensors made in advance: batched throughput and batch-1
/// latency, with ONNX Runtime's intra-op threads set to --threads. The exported graph's output is checked against the
/// TorchSharp forward on the same input.
/// </summary>
internal static class OnnxBench
{
    public static void Run(BenchSettings s, int steps, int count, string? keepPath)
    {
        s.PrepareTorch();
        var options = s.CreateOptions(epochs: 1);
        var preprocessing = options.CreatePreprocessing();
        manual_seed(1);
        using var model = options.CreateModel(s.Classes);
        model.eval();
        string path = keepPath ?? Path.Combine(Path.GetTempPath(), $"lwml-speed-{Environment.ProcessId}.onnx");
        OnnxExport.Save(model, preprocessing, path);
        try
        {
            using var sessionOptions = new SessionOptions
            {
                IntraOpNumThreads = s.Threads,
                InterOpNumThreads = 1,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            };
            using var session = new InferenceSession(path, sessionOptions);
            using var runOptions = new RunOptions();
            var random = new Random(1);
            float[] Pixels(int n) => Enumerable.Range(0, n * 3 * s.ImageSize * s.ImageSize).Select(_ => (float)random.Next(256)).ToArray();
            var batch = Pixels(s.BatchSize);
            var single = Pixels(1);
            using var batchValue = OrtValue.CreateTensorValueFromMemory(batch, [s.BatchSize, 3, s.ImageSize, s.ImageSize]);
            using var singleValue = OrtValue.CreateTensorValueFromMemory(single, [1, 3, s.ImageSize, s.ImageSize]);
            string[] inputNames = [OnnxExport.InputName], outputNames = [OnnxExport.OutputName];

            float[] Run(OrtValue input)
            {
                using var outputs = session.Run(runOptions, inputNames, [input], outputNames);
                return outputs[0].GetTensorDataAsSpan<float>().ToArray();
            }

            double maxDiff = MaxDifferenceToTorch(model, preprocessing, batch, Run(batchValue), s);
            var rates = RawBench.Repeat(s, steps, () => Run(batchValue));
            Report.Emit("onnx", "onnxruntime_batch", s, ("steps", steps), ("repeats", s.Repeats),
                ("images_per_s", Stats.Median(rates)), ("images_per_s_all", RawBench.Round(rates)),
                ("max_abs_diff_vs_torchsharp", maxDiff), ("onnxruntime", typeof(InferenceSession).Assembly.GetName().Version?.ToString()),
                ("onnx_bytes", new FileInfo(path).Length));

            ScoringBench.EmitLatency("onnxruntime_b1", s, RawBench.CallMilliseconds(s, count, _ => Run(singleValue)));
        }
        finally
        {
            if (keepPath is null) File.Delete(path);
        }
    }

    /// <summary>
    /// Largest |ONNX Runtime − TorchSharp| probability on the same 0–255 input (a sanity check only: an untrained network's
    /// probabilities are close to uniform).
    /// </summary>
    private static double MaxDifferenceToTorch(Models.ImageClassifierModel model, ImagePreprocessing preprocessing, float[] pixels,
        float[] onnxProbabilities, BenchSettings s)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var bytes = tensor(pixels, [s.BatchSize, 3, s.ImageSize, s.ImageSize]).to(ScalarType.Byte);
        var probabilities = nn.functional.softmax(model.call(preprocessing.Normalize(bytes, CPU)), 1);
        var onnx = tensor(onnxProbabilities, probabilities.shape);
        return (probabilities - onnx).abs().max().item<float>();
    }
}

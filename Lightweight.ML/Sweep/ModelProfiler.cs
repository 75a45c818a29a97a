using System.Diagnostics;
using Lightweight.ML.Export;
using Lightweight.ML.Models;
using Lightweight.ML.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lightweight.ML;

/// <summary>Counts parameters and multiply-adds and measures forward latency of the zoo's networks on this machine.</summary>
public static class ModelProfiler
{
    /// <summary>Number of parameters (trainable or not; batch-norm running statistics are buffers and not counted).</summary>
    /// <param name="model">Any TorchSharp module.</param>
    public static long CountParameters(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.parameters().Sum(p => p.numel());
    }

    /// <summary>
    /// Millions of multiply-adds of one forward of one <paramref name="imageSize"/>² image through every convolution and
    /// linear layer (batch norm, activations, pooling and additions are not counted, as in the papers' tables).
    /// Measured by running the network once on zeros with forward hooks, so it follows the actual strides.
    /// </summary>
    /// <param name="model">A zoo network.</param>
    /// <param name="imageSize">Input side in pixels.</param>
    public static double CountMFlops(ImageClassifierModel model, int imageSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (imageSize is < 1 or > 4096)
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "imageSize must be between 1 and 4096 pixels.");
        TorchRuntime.EnsureInitialized();
        double macs = 0;
        var removers = new List<Action>();
        // Per output element, a convolution or linear layer does (weight elements / output channels) multiply-adds.
        Tensor Count(nn.Module module, Tensor output, Tensor weight)
        {
            long perOutput = weight.numel() / weight.shape[0];
            macs += (double)(output.numel() / output.shape[0]) * perOutput;
            return output;
        }
        foreach (var module in model.modules())
        {
            if (module is Conv2d conv)
                removers.Add(conv.register_forward_hook((m, _, output) => Count(m, output, conv.weight!)).remove);
            else if (module is Linear linear)
                removers.Add(linear.register_forward_hook((m, _, output) => Count(m, output, linear.weight!)).remove);
        }
        bool wasTraining = model.training;
        try
        {
            model.eval();
            using var _ = torch.no_grad();
            using var scope = NewDisposeScope();
            var device = model.parameters().First().device;
            model.call(zeros(1, model.InChannels, imageSize, imageSize, device: device));
        }
        finally
        {
            foreach (var remove in removers) remove();
            model.train(wasTraining);
        }
        return macs / 1e6;
    }

    /// <summary>
    /// Builds the network <paramref name="options"/> describe (random weights: latency does not depend on them) and
    /// measures it: parameters, MFLOPs, and the median of <paramref name="runs"/> timed forwards at batch 1 and at
    /// batch <paramref name="batchSize"/> after <paramref name="warmup"/> untimed ones, on the CPU with the options'
    /// thread count, in the engine a fitted model scores with (<see cref="ImageClassificationTrainerOptions.ScoringEngine"/>:
    /// ONNX Runtime by default, from uint8 pixels as the transformer feeds it; TorchSharp when chosen).
    /// </summary>
    /// <param name="options">Architecture, <see cref="ImageClassificationTrainerOptions.ImageSize"/>, input channels and threads.</param>
    /// <param name="numClasses">Classifier outputs.</param>
    /// <param name="batchSize">Batch of the batch measurement. Default 32.</param>
    /// <param name="runs">Timed forwards per measurement. Default 20.</param>
    /// <param name="warmup">Untimed forwards before each measurement. Default 3.</param>
    public static ModelProfile Measure(ImageClassificationTrainerOptions options, int numClasses, int batchSize = 32, int runs = 20, int warmup = 3)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be at least 1.");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1.");
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, "runs must be at least 1.");
        if (warmup < 0) throw new ArgumentOutOfRangeException(nameof(warmup), warmup, "warmup must be at least 0.");
        TorchRuntime.PrepareProcess();
        TorchRuntime.EnsureInitialized();
        TorchRuntime.SetThreads(options.NumberOfThreads);
        using var model = options.CreateModel(numClasses);
        long parameters = CountParameters(model);
        double mflops = CountMFlops(model, options.ImageSize);
        model.eval();
        bool onnx = options.ScoringEngine == ScoringEngine.OnnxRuntime
                    || (options.ScoringEngine == ScoringEngine.Auto && OnnxArchitectures.IsSupported(model));
        using var scorer = onnx ? new OnnxRuntimeScorer(model, options.CreatePreprocessing(), torch.get_num_threads()) : null;
        Action<Tensor, float[]> forward = scorer is not null
            ? (pixels, probabilities) => scorer.Score(pixels, probabilities)
            : (pixels, _) =>
            {
                using var scope = NewDisposeScope();
                model.call(pixels.to(ScalarType.Float32)); // timing only: the values do not matter
            };
        double single = MedianForwardMilliseconds(forward, 1, model, options.ImageSize, runs, warmup);
        double batch = MedianForwardMilliseconds(forward, batchSize, model, options.ImageSize, runs, warmup) / batchSize;
        return new ModelProfile(ModelNames.Of(options), options.ImageSize, numClasses, parameters, mflops, single, batch, batchSize,
            scorer?.Threads ?? torch.get_num_threads(), onnx ? ScoringEngine.OnnxRuntime : ScoringEngine.TorchSharp);
    }

    private static double MedianForwardMilliseconds(Action<Tensor, float[]> forward, int batch, ImageClassifierModel model, int imageSize,
        int runs, int warmup)
    {
        using var _ = torch.no_grad();
        using var pixels = randint(0, 256, [batch, model.InChannels, imageSize, imageSize], ScalarType.Byte);
        var probabilities = new float[batch * model.NumClasses];
        var times = new double[runs];
        for (int i = -warmup; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            forward(pixels, probabilities);
            if (i >= 0) times[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
    }
}

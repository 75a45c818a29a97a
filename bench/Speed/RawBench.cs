using System.Diagnostics;
using Lightweight.ML.Models;
using Lightweight.ML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Lightweight.ML.Bench.Speed;

/// <summary>
/// <c>raw</c>: the training step alone on tensors made in advance, same model, batch and optimizer as the pipeline
/// (SGD, Nesterov momentum 0.9, weight decay on conv/linear weights only, label smoothing 0.1, the loss and the accuracy
/// read back every step as the training loop does). The pipeline's per-epoch throughput divided by this one is the
/// pipeline's overhead (target ≥ 0.9).
/// </summary>
internal static class RawBench
{
    /// <summary>Distinct batches cycled through, so the step does not always see the same memory.</summary>
    private const int Batches = 4;

    public static void TrainStep(BenchSettings s, int steps)
    {
        s.PrepareTorch();
        var options = s.CreateOptions(epochs: 1);
        manual_seed(1);
        using var model = options.CreateModel(s.Classes);
        model.train();
        using var optimizer = ParameterGroups.CreateSgd(model, options.EffectiveLearningRate, options.Momentum, options.Nesterov,
            options.EffectiveWeightDecay);
        var inputs = Enumerable.Range(0, Batches).Select(_ => randn(s.BatchSize, 3, s.ImageSize, s.ImageSize)).ToArray();
        var labels = Enumerable.Range(0, Batches).Select(_ => randint(0, s.Classes, [s.BatchSize], ScalarType.Int64)).ToArray();
        try
        {
            long step = 0;
            // Time in each phase of the timed steps (the warm-up steps are left out): forward with the loss read back,
            // zero_grad + backward, optimizer step, and the rest (learning rate set, batch accuracy read back).
            var phases = new double[4];
            var clock = new Stopwatch();
            void Lap(int phase)
            {
                if (step >= s.Warmup) phases[phase] += clock.Elapsed.TotalMilliseconds;
                clock.Restart();
            }
            void Step()
            {
                using var scope = NewDisposeScope();
                clock.Restart();
                var x = inputs[step % Batches];
                var y = labels[step % Batches];
                foreach (var group in optimizer.ParamGroups) group.LearningRate = options.EffectiveLearningRate; // as the per-step schedule does
                Lap(3);
                var logits = model.call(x);
                var loss = nn.functional.cross_entropy(logits, y, label_smoothing: options.LabelSmoothing);
                _ = loss.item<float>();
                Lap(0);
                optimizer.zero_grad();
                loss.backward();
                Lap(1);
                optimizer.step();
                Lap(2);
                _ = logits.argmax(1).eq(y).sum().item<long>();
                Lap(3);
                step++;
            }
            var rates = Repeat(s, steps, Step);
            double timed = (double)steps * s.Repeats;
            Report.Emit("raw", "train_step", s, ("steps", steps), ("repeats", s.Repeats),
                ("images_per_s", Stats.Median(rates)), ("images_per_s_all", Round(rates)),
                ("ms_per_step", 1000.0 * s.BatchSize / Stats.Median(rates)),
                ("ms_forward", phases[0] / timed), ("ms_backward", phases[1] / timed), ("ms_optimizer", phases[2] / timed),
                ("ms_rest", phases[3] / timed));
        }
        finally
        {
            foreach (var t in inputs.Concat(labels)) t.Dispose();
        }
    }

    /// <summary>Images per second of a batched eval-mode forward (softmax, copied to the CPU) on a tensor made in advance.</summary>
    public static IReadOnlyList<double> ForwardRates(ImageClassifierModel model, BenchSettings s, int steps)
    {
        model.eval();
        using var noGrad = no_grad();
        using var x = randn(s.BatchSize, model.InChannels, s.ImageSize, s.ImageSize);
        return Repeat(s, steps, () =>
        {
            using var scope = NewDisposeScope();
            _ = nn.functional.softmax(model.call(x), 1).cpu().data<float>()[0];
        });
    }

    /// <summary>Per-call milliseconds of a batch-1 eval-mode forward (softmax, read back), after the warm-up calls.</summary>
    public static double[] SingleImageMilliseconds(ImageClassifierModel model, BenchSettings s, int count)
    {
        model.eval();
        using var noGrad = no_grad();
        using var x = randn(1, model.InChannels, s.ImageSize, s.ImageSize);
        return CallMilliseconds(s, count, n =>
        {
            using var scope = NewDisposeScope();
            _ = nn.functional.softmax(model.call(x), 1).cpu().data<float>()[0];
        });
    }

    /// <summary>
    /// Milliseconds of each of <paramref name="count"/> calls after <see cref="BenchSettings.Warmup"/> untimed ones; the
    /// call gets its index, counting the warm-up calls from 0.
    /// </summary>
    public static double[] CallMilliseconds(BenchSettings s, int count, Action<int> call)
    {
        var times = new double[count];
        for (int i = -s.Warmup; i < count; i++)
        {
            var clock = Stopwatch.StartNew();
            call(i + s.Warmup);
            if (i >= 0) times[i] = clock.Elapsed.TotalMilliseconds;
        }
        return times;
    }

    /// <summary>Runs the warm-up steps, then <see cref="BenchSettings.Repeats"/> × <paramref name="steps"/> timed ones; images per second of each repeat.</summary>
    public static List<double> Repeat(BenchSettings s, int steps, Action step)
    {
        for (int i = 0; i < s.Warmup; i++) step();
        var rates = new List<double>();
        for (int r = 0; r < s.Repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++) step();
            rates.Add(steps * (double)s.BatchSize / clock.Elapsed.TotalSeconds);
        }
        return rates;
    }

    public static double[] Round(IEnumerable<double> values, int digits = 1) => values.Select(v => Math.Round(v, digits)).ToArray();
}

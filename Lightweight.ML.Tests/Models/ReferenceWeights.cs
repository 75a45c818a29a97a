using TorchSharp;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Models;

/// <summary>
/// Deterministic, non-degenerate weights and inputs for comparing a model's logits with values computed by the
/// Python reference (torchvision, or a PyTorch transcription) after filling its state_dict by the same rule:
/// the entry named <c>name</c> gets <c>u = ((i² · 31 + i · 17 + k · 101) mod 10007) / 10006 · 2 − 1</c> for its flat
/// index i, where <c>k = Σ (j + 1) · name[j] mod 100003</c> (by name, because TorchSharp lists buffers after all
/// parameters while PyTorch interleaves them), then running_var = 1 + u/2, other 1-D weights (batch norm) = 1 + u/4, 2-D+ weights
/// = u · √(3 · gain / fan_in), everything else (biases, running_mean) = u / 10. Integer tensors are left alone.
/// </summary>
internal static class ReferenceWeights
{
    private const long Modulus = 10007;

    /// <summary>The pseudo-random pattern in [−1, 1] for entry <paramref name="k"/> (float64).</summary>
    public static Tensor Pattern(long n, long k)
    {
        using var scope = NewDisposeScope();
        var i = arange(n, dtype: ScalarType.Int64);
        var r = (i * i * 31 + i * 17 + k * 101).remainder(Modulus);
        return (r.to_type(ScalarType.Float64) / (Modulus - 1) * 2 - 1).MoveToOuterDisposeScope();
    }

    /// <summary>Fills every floating-point state_dict entry of <paramref name="model"/> by the rule above.</summary>
    public static void Fill(nn.Module model, double gain)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, t) in model.state_dict())
        {
            if (t.dtype != ScalarType.Float32) continue;
            var u = Pattern(t.numel(), NameKey(name));
            Tensor v = name.EndsWith("running_var", StringComparison.Ordinal) ? 1 + 0.5 * u
                : t.dim() > 1 ? u * Math.Sqrt(3 * gain / (t.numel() / t.shape[0]))
                : name.EndsWith("weight", StringComparison.Ordinal) ? 1 + 0.25 * u
                : 0.1 * u;
            t.copy_(v.view(t.shape).to_type(ScalarType.Float32));
        }
    }

    /// <summary>A stable number per state_dict key: Σ (j + 1) · name[j] mod 100003.</summary>
    public static long NameKey(string name)
    {
        long k = 0;
        for (int j = 0; j < name.Length; j++) k += (j + 1) * (long)name[j];
        return k % 100003;
    }

    /// <summary>The reference input: the pattern for k = 7, shaped <c>[n, c, size, size]</c>, as float32.</summary>
    public static Tensor Input(int n, int c, int size)
    {
        using var scope = NewDisposeScope();
        return Pattern((long)n * c * size * size, 7).view(n, c, size, size).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Runs <paramref name="model"/> in eval mode on <paramref name="input"/> and compares with <paramref name="expected"/> rows.</summary>
    public static void AssertLogits(nn.Module<Tensor, Tensor> model, Tensor input, float[][] expected)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        model.eval();
        var logits = model.call(input);
        Assert.AreEqual(expected.Length, (int)logits.shape[0]);
        for (int row = 0; row < expected.Length; row++)
        {
            var actual = logits[row].data<float>().ToArray();
            Assert.HasCount(expected[row].Length, actual);
            for (int j = 0; j < actual.Length; j++)
                Assert.AreEqual(expected[row][j], actual[j], 1e-4 + 1e-4 * Math.Abs(expected[row][j]), $"logit [{row}, {j}]");
        }
    }
}

using static TorchSharp.torch;

namespace Lightweight.ML.Training;

/// <summary>Gradient clipping, called between <c>loss.backward()</c> and <c>optimizer.step()</c>.</summary>
internal static class GradientClipping
{
    /// <summary>
    /// Scales all gradients of <paramref name="model"/> together so that their global L2 norm is at most
    /// <paramref name="maxNorm"/> (<c>torch.nn.utils.clip_grad_norm_</c>); parameters without a gradient are skipped.
    /// </summary>
    /// <returns>The global norm before clipping (infinite or NaN when a gradient is).</returns>
    public static double ClipGradNorm(nn.Module model, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!(maxNorm > 0 && double.IsFinite(maxNorm)))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "The maximum gradient norm must be positive and finite.");
        return nn.utils.clip_grad_norm_(model.parameters(), maxNorm);
    }
}

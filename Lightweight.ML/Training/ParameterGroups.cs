using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lightweight.ML.Training;

/// <summary>
/// Optimizers whose weight decay skips normalisation parameters and biases, as the ShuffleNetV2 reference
/// (<c>get_parameters</c>) and timm (<c>param_groups_weight_decay</c>) do. Two parameter groups:
/// <code>
/// Decay    every parameter of 2 or more dimensions not named *.bias: conv and linear weights   weight decay
/// NoDecay  every 1-D parameter (BatchNorm/LayerNorm weights and biases, all biases) and *.bias  no decay
/// </code>
/// Parameters that do not require gradients (frozen) are left out of both. Both groups get the same learning rate;
/// set it for both with <c>foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;</c>.
/// </summary>
internal static class ParameterGroups
{
    /// <summary>Splits the trainable parameters of <paramref name="model"/> into the two groups, in module order.</summary>
    public static (IReadOnlyList<Parameter> Decay, IReadOnlyList<Parameter> NoDecay) Split(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (!parameter.requires_grad) continue;
            bool skip = parameter.dim() <= 1 || name == "bias" || name.EndsWith(".bias", StringComparison.Ordinal);
            (skip ? noDecay : decay).Add(parameter);
        }
        return (decay, noDecay);
    }

    /// <summary>
    /// SGD with momentum (Nesterov when <paramref name="nesterov"/> and <paramref name="momentum"/> &gt; 0) and L2 weight
    /// decay on the Decay group only.
    /// </summary>
    public static optim.Optimizer CreateSgd(nn.Module model, double lr, double momentum, bool nesterov, double weightDecay)
    {
        var (decay, noDecay) = Split(model);
        var groups = new List<SGD.ParamGroup>();
        if (decay.Count > 0) groups.Add(new SGD.ParamGroup(decay, new SGD.Options { weight_decay = weightDecay }));
        if (noDecay.Count > 0) groups.Add(new SGD.ParamGroup(noDecay, new SGD.Options { weight_decay = 0 }));
        // Options left unset in a group (rate, momentum, nesterov...) are filled from these defaults by TorchSharp.
        return optim.SGD(groups, lr, momentum, weight_decay: weightDecay, nesterov: nesterov && momentum > 0);
    }

    /// <summary>AdamW (betas 0.9, 0.999, eps 1e-8) with decoupled weight decay on the Decay group only.</summary>
    public static optim.Optimizer CreateAdamW(nn.Module model, double lr, double weightDecay)
    {
        var (decay, noDecay) = Split(model);
        var groups = new List<AdamW.ParamGroup>();
        if (decay.Count > 0) groups.Add(new AdamW.ParamGroup(decay, new AdamW.Options { weight_decay = weightDecay }));
        if (noDecay.Count > 0) groups.Add(new AdamW.ParamGroup(noDecay, new AdamW.Options { weight_decay = 0 }));
        return optim.AdamW(groups, lr, weight_decay: weightDecay);
    }
}

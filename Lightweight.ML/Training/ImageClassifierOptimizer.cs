namespace Lightweight.ML;

/// <summary>The optimizer a trainer uses.</summary>
public enum ImageClassifierOptimizer
{
    /// <summary>Minibatch SGD with momentum (Nesterov by default), as the ShuffleNet/GhostNet papers train.</summary>
    Sgd,
    /// <summary>AdamW (decoupled weight decay, Loshchilov &amp; Hutter 2019).</summary>
    AdamW,
}

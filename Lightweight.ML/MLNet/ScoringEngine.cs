namespace Lightweight.ML;

/// <summary>What runs the network when a fitted image classifier scores (<c>Transform</c> and PredictionEngine).</summary>
public enum ScoringEngine
{
    /// <summary>
    /// ONNX Runtime when the network is on the CPU and exports to ONNX (every built-in architecture does), TorchSharp
    /// otherwise (a GPU device, a network without an ONNX conversion). The default.
    /// </summary>
    Auto,

    /// <summary>libtorch through TorchSharp: the network module as trained, in eval mode without gradients.</summary>
    TorchSharp,

    /// <summary>
    /// ONNX Runtime on the CPU: the graph of <see cref="OnnxExport"/> (batch norms folded into the convolutions), built in
    /// memory on first use. Several times faster than TorchSharp for one image and faster in batches on these small
    /// networks (BENCHMARKS.md); probabilities agree with TorchSharp's to float rounding (about 1e-6). Scoring throws
    /// <see cref="NotSupportedException"/> when the network is on a GPU or has no ONNX conversion.
    /// </summary>
    OnnxRuntime,
}

namespace Lightweight.ML;

/// <summary>Size, compute and measured CPU latency of one architecture at one input size.</summary>
/// <param name="Model">Short model name (<see cref="ModelNames"/>), e.g. <c>shufflenetv2-0.5x</c>.</param>
/// <param name="ImageSize">Side of the square input in pixels.</param>
/// <param name="NumClasses">Classifier outputs the network was built with.</param>
/// <param name="Parameters">Trainable parameters.</param>
/// <param name="MFlops">
/// Millions of multiply-adds of the convolutions and linear layers for one image, the count the architecture papers
/// report as "FLOPs" (ShuffleNetV2 1.0× at 224 px: 146).
/// </param>
/// <param name="SingleImageMilliseconds">Median wall time of a batch-1 forward in <paramref name="Engine"/> (eval semantics, no gradients).</param>
/// <param name="BatchMillisecondsPerImage">Median wall time of a forward of <paramref name="BatchSize"/> images, divided by the batch size.</param>
/// <param name="BatchSize">Batch size of the batch measurement.</param>
/// <param name="Threads">Intra-op threads during the measurement (libtorch's or ONNX Runtime's).</param>
/// <param name="Engine">
/// The engine the forwards ran in: the one a model trained with these options scores with on the CPU
/// (<see cref="ScoringEngine.OnnxRuntime"/> for <see cref="ScoringEngine.Auto"/>).
/// </param>
public sealed record ModelProfile(
    string Model, int ImageSize, int NumClasses, long Parameters, double MFlops,
    double SingleImageMilliseconds, double BatchMillisecondsPerImage, int BatchSize, int Threads, ScoringEngine Engine);

using static TorchSharp.torch;

namespace Lightweight.ML.Data;

/// <summary>A decoded data set held natively: <c>uint8 [N, C, S, S]</c> images and <c>int64 [N]</c> class indices.</summary>
internal sealed class LabeledImages(Tensor images, Tensor labels) : IDisposable
{
    public Tensor Images { get; } = images;
    public Tensor Labels { get; } = labels;
    public long Count => Labels.shape[0];

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}

using static TorchSharp.torch;

namespace Lightweight.ML.Data;

/// <summary>A decoded data set held natively: <c>uint8 [N, C, S, S]</c> images and <c>int64 [N]</c> class indices.</summary>
internal sealed class LabeledImages(Tensor images, Tensor labels) : IDisposable
{
    public Tensor Images { get; } = images;
    public Tensor Labels { get; } = labels;
    public long Count => Labels.shape[0];

    /// <summary>
    /// Splits off a stratified validation set: in every class with at least two images, round(fraction × count) images
    /// (at least one) chosen by a permutation drawn from <paramref name="seed"/>.
    /// </summary>
    public (LabeledImages Train, LabeledImages Validation) SplitStratified(double fraction, long seed)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed);
        var labels = Labels.data<long>().ToArray();
        var trainIndex = new List<long>();
        var validationIndex = new List<long>();
        foreach (var group in Enumerable.Range(0, labels.Length).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var members = group.ToArray();
            var order = randperm(members.Length, generator: generator).data<long>().ToArray();
            int held = members.Length < 2 ? 0 : Math.Max(1, (int)Math.Round(fraction * members.Length));
            for (int i = 0; i < members.Length; i++) (i < held ? validationIndex : trainIndex).Add(members[order[i]]);
        }
        trainIndex.Sort();
        validationIndex.Sort();
        return (Select(trainIndex), Select(validationIndex));
    }

    private LabeledImages Select(List<long> indices)
    {
        using var index = tensor(indices.ToArray(), ScalarType.Int64);
        return new LabeledImages(Images.index_select(0, index).DetachFromDisposeScope(), Labels.index_select(0, index).DetachFromDisposeScope());
    }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}

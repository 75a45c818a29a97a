using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lightweight.ML.Tests.MLNet;

/// <summary>The README pipeline: MapValueToKey → LoadImages → trainer → MapKeyToValue.</summary>
internal static class Pipelines
{
    public static IEstimator<ITransformer> Build(MLContext ml, IEstimator<ITransformer> trainer)
        => ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
            .Append(trainer)
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

    public static ShuffleNetV2Options Small(int epochs = 1) => new()
    {
        ModelSize = ShuffleNetV2Size.X0_5, ImageSize = 16, Epochs = epochs, BatchSize = 8, Seed = 7,
    };

    /// <summary>Disposes the disposable transformers of a fitted chain (the trained network).</summary>
    public static void Dispose(ITransformer model)
    {
        foreach (var d in ((IEnumerable<ITransformer>)model).OfType<IDisposable>()) d.Dispose();
    }

    /// <summary>Scores of every row of a transformed view, read through a cursor.</summary>
    public static List<float[]> Scores(IDataView scored, string column = "Score")
    {
        var result = new List<float[]>();
        var col = scored.Schema[column];
        using var cursor = scored.GetRowCursor([col]);
        var getter = cursor.GetGetter<VBuffer<float>>(col);
        VBuffer<float> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            result.Add(value.DenseValues().ToArray());
        }
        return result;
    }
}

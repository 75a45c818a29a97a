using Microsoft.ML;

namespace Lightweight.ML;

/// <summary>Adds <see cref="LightweightAuto"/> to <see cref="MLContext"/>.</summary>
public static class LightweightAutoExtensions
{
    /// <summary>The sweep catalog: <c>mlContext.LightweightAuto().CreateImageClassificationExperiment(settings).Execute(train)</c>.</summary>
    /// <param name="mlContext">The ML.NET context the trials train in.</param>
    public static LightweightAutoCatalog LightweightAuto(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new LightweightAutoCatalog(mlContext);
    }
}

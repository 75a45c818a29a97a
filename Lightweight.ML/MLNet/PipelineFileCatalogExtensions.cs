using Lightweight.ML.Export;
using Microsoft.ML;

namespace Lightweight.ML;

/// <summary>
/// Saving and loading a whole fitted pipeline — ML.NET transforms and Lightweight.ML classifiers — in one file.
/// ML.NET's own <c>mlContext.Model.Save</c> cannot write third-party transformers (its <c>ModelSaveContext</c> is
/// internal, dotnet/machinelearning#4911); these calls save every ML.NET part with ML.NET's own format and our
/// classifiers as JSON + safetensors weights, all inside one zip. Loading runs no code from the file.
/// <code>
/// mlContext.Model.SavePipeline(model, trainData.Schema, "model.zip");
/// ITransformer loaded = mlContext.Model.LoadPipeline("model.zip", out var inputSchema);
/// </code>
/// </summary>
public static class PipelineFileCatalogExtensions
{
    /// <summary>
    /// Writes <paramref name="model"/> (any fitted pipeline, e.g. the <c>TransformerChain</c> returned by
    /// <c>Fit</c>) and the schema it was fitted on to <paramref name="path"/>, atomically (an existing file is replaced
    /// only once the new one is complete). Throws <see cref="NotSupportedException"/> naming a transformer neither
    /// ML.NET nor this library can save.
    /// </summary>
    public static void SavePipeline(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema inputSchema, string path)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        PipelineFile.Save(catalog, model, inputSchema, path);
    }

    /// <summary>
    /// Reads a pipeline written by <see cref="SavePipeline"/>; the network runs on the CPU. As with ML.NET's own
    /// <c>Model.Load</c>, <paramref name="inputSchema"/> lacks columns ML.NET cannot serialise (image-typed columns). Dispose the returned chain's
    /// classifiers (they are <see cref="IDisposable"/>) when done. A missing, corrupt, truncated or newer-version file
    /// throws <see cref="FileNotFoundException"/> or <see cref="InvalidDataException"/> naming the file.
    /// </summary>
    public static ITransformer LoadPipeline(this ModelOperationsCatalog catalog, string path, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return PipelineFile.Load(catalog, path, out inputSchema);
    }
}

using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Lightweight.ML.MLNet;

/// <summary>
/// The one place that reaches into ML.NET internals a third-party estimator needs and ML.NET keeps internal
/// (dotnet/machinelearning#3243): the environment behind a catalog (for its seed and log channel) and the
/// constructor of <see cref="SchemaShape.Column"/> (for <see cref="IEstimator{TTransformer}.GetOutputSchema"/>).
/// Every member is resolved once and checked by tests, so an ML.NET upgrade that moves them fails loudly.
/// </summary>
internal static class MLNetInternals
{
    private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    private static readonly Lazy<ConstructorInfo> ColumnConstructor = new(() =>
        typeof(SchemaShape.Column).GetConstructor(Instance, binder: null,
            [typeof(string), typeof(SchemaShape.Column.VectorKind), typeof(DataViewType), typeof(bool), typeof(SchemaShape)], modifiers: null)
        ?? throw Unsupported("the constructor SchemaShape.Column(string, VectorKind, DataViewType, bool, SchemaShape)"));

    /// <summary>Returns the <see cref="IHostEnvironment"/> (the <see cref="MLContext"/>'s environment) behind an ML.NET catalog.</summary>
    /// <param name="catalog">A catalog such as <c>mlContext.Data</c> or <c>mlContext.MulticlassClassification.Trainers</c>.</param>
    public static IHostEnvironment GetEnvironment(object catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var iface = catalog.GetType().GetInterfaces().FirstOrDefault(i => i.FullName == "Microsoft.ML.Data.IInternalCatalog")
            ?? throw Unsupported($"the interface IInternalCatalog on {catalog.GetType().FullName}");
        var property = iface.GetProperty("Environment", Instance)
            ?? throw Unsupported("the property IInternalCatalog.Environment");
        return property.GetValue(catalog) as IHostEnvironment
            ?? throw Unsupported($"a non-null environment on {catalog.GetType().FullName}");
    }

    /// <summary>Creates a <see cref="SchemaShape.Column"/>, whose constructor ML.NET keeps internal.</summary>
    public static SchemaShape.Column CreateColumn(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType, bool isKey,
        SchemaShape? annotations = null)
        => (SchemaShape.Column)ColumnConstructor.Value.Invoke([name, kind, itemType, isKey, annotations]);

    private static NotSupportedException Unsupported(string what) => new(
        $"Lightweight.ML could not find {what} in Microsoft.ML {typeof(MLContext).Assembly.GetName().Version}; " +
        "this ML.NET version is not supported.");
}

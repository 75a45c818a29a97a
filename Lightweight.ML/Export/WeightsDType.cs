using static TorchSharp.torch;

namespace Lightweight.ML.Export;

/// <summary>An element type a weights file may hold: its safetensors name, TorchSharp type and size in bytes.</summary>
internal sealed record WeightsDType(string Name, ScalarType ScalarType, int Size)
{
    /// <summary>The element types read and written, as the safetensors specification names them.</summary>
    public static IReadOnlyList<WeightsDType> All { get; } =
    [
        new("F64", ScalarType.Float64, 8),
        new("F32", ScalarType.Float32, 4),
        new("F16", ScalarType.Float16, 2),
        new("BF16", ScalarType.BFloat16, 2),
        new("I64", ScalarType.Int64, 8),
        new("I32", ScalarType.Int32, 4),
        new("I16", ScalarType.Int16, 2),
        new("I8", ScalarType.Int8, 1),
        new("U8", ScalarType.Byte, 1),
        new("BOOL", ScalarType.Bool, 1),
    ];

    private static readonly Dictionary<string, WeightsDType> ByName = All.ToDictionary(d => d.Name, StringComparer.Ordinal);
    private static readonly Dictionary<ScalarType, WeightsDType> ByScalarType = All.ToDictionary(d => d.ScalarType);

    /// <summary>Comma-separated names, for error messages.</summary>
    public static string Supported { get; } = string.Join(", ", All.Select(d => d.Name));

    public static WeightsDType? FromName(string name) => ByName.GetValueOrDefault(name);

    public static WeightsDType? FromScalarType(ScalarType type) => ByScalarType.GetValueOrDefault(type);

    public bool IsFloatingPoint => ScalarType is ScalarType.Float64 or ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16;

    public bool IsInteger => ScalarType is ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte;

    /// <summary>
    /// Whether a stored tensor of this type may be copied into a model tensor of <paramref name="target"/>: floats into
    /// floats (converted, e.g. F16 → float32), integers into integers, booleans into booleans.
    /// </summary>
    public bool CanLoadInto(ScalarType target) => FromScalarType(target) is { } t &&
        (IsFloatingPoint && t.IsFloatingPoint || IsInteger && t.IsInteger || ScalarType == ScalarType.Bool && t.ScalarType == ScalarType.Bool);
}

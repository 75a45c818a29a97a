using System.Globalization;
using System.Text.RegularExpressions;
using Lightweight.ML.Models;

namespace Lightweight.ML;

/// <summary>
/// Short, case-insensitive names for the zoo's architectures and sizes, as the <c>lwml</c> tool, the sweep and the
/// benchmarks take them: <c>shufflenetv2-0.5x</c> (0.5x, 1.0x, 1.5x, 2.0x), <c>ghostnet-1.0</c> (any width in (0, 4]),
/// <c>mobilenetv2-1.0</c> (any width) and <c>shufflenetv1-g3-1.0x</c> (groups 1, 2, 3, 4, 8; sizes as ShuffleNetV2).
/// The <see cref="ImageClassificationTrainerOptions.ModelName"/> of every options object parses back to the same model.
/// </summary>
public static partial class ModelNames
{
    /// <summary>What <see cref="CreateOptions"/> accepts, for help texts and error messages.</summary>
    public const string Syntax = "shufflenetv2-<0.5|1.0|1.5|2.0>x, ghostnet-<width>, mobilenetv2-<width> or shufflenetv1-g<1|2|3|4|8>-<0.5|1.0|1.5|2.0>x";

    /// <summary>
    /// The sizes a default sweep compares, smallest first within each family: ShuffleNetV2 0.5×–2.0×, GhostNet 0.5/1.0/1.3,
    /// MobileNetV2 0.5/1.0 and ShuffleNetV1 g3 0.5×/1.0×.
    /// </summary>
    public static IReadOnlyList<string> Standard { get; } =
    [
        "shufflenetv2-0.5x", "shufflenetv2-1.0x", "shufflenetv2-1.5x", "shufflenetv2-2.0x",
        "ghostnet-0.5", "ghostnet-1.0", "ghostnet-1.3",
        "mobilenetv2-0.5", "mobilenetv2-1.0",
        "shufflenetv1-g3-0.5x", "shufflenetv1-g3-1.0x",
    ];

    /// <summary>
    /// Fresh trainer options (all other settings at their defaults) for the named model, e.g. <c>shufflenetv2-0.5x</c>
    /// or <c>GhostNet-1.3x</c>. Throws an <see cref="ArgumentException"/> naming the bad name and the accepted forms.
    /// </summary>
    /// <param name="name">A model name; see <see cref="ModelNames"/>.</param>
    public static ImageClassificationTrainerOptions CreateOptions(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var m = NamePattern().Match(name.Trim());
        if (!m.Success)
            throw new ArgumentException($"Unknown model '{name}'; expected {Syntax}.", nameof(name));
        string family = m.Groups["family"].Value.ToLowerInvariant(), size = m.Groups["size"].Value;
        bool hasX = m.Groups["x"].Success;
        ImageClassificationTrainerOptions options = family switch
        {
            "shufflenetv2" when hasX && ParseShuffleSize(size) is { } s => new ShuffleNetV2Options { ModelSize = s },
            "shufflenetv1" when hasX && m.Groups["groups"].Success && ParseShuffleSize(size) is { } s
                => new ShuffleNetV1Options { ModelSize = (ShuffleNetV1Size)(int)s, Groups = int.Parse(m.Groups["groups"].Value, CultureInfo.InvariantCulture) },
            "ghostnet" when !m.Groups["groups"].Success => new GhostNetOptions { Width = ParseWidth(size, name) },
            "mobilenetv2" when !m.Groups["groups"].Success => new MobileNetV2Options { Width = ParseWidth(size, name) },
            _ => throw new ArgumentException($"Unknown model '{name}'; expected {Syntax}.", nameof(name)),
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Model '{name}' is not available: {e.Message}", nameof(name), e);
        }
        return options;
    }

    /// <summary>The short name of the model these options build, e.g. <c>shufflenetv2-0.5x</c> or <c>ghostnet-1.3</c>.</summary>
    /// <param name="options">Trainer options of any zoo architecture.</param>
    public static string Of(ImageClassificationTrainerOptions options) => options switch
    {
        ShuffleNetV2Options o => $"shufflenetv2-{SizeText((int)o.ModelSize)}x",
        ShuffleNetV1Options o => $"shufflenetv1-g{o.Groups}-{SizeText((int)o.ModelSize)}x",
        GhostNetOptions o => string.Create(CultureInfo.InvariantCulture, $"ghostnet-{o.Width:0.0##}"),
        MobileNetV2Options o => string.Create(CultureInfo.InvariantCulture, $"mobilenetv2-{o.Width:0.0##}"),
        null => throw new ArgumentNullException(nameof(options)),
        _ => throw new ArgumentException($"{options.GetType().Name} is not one of the zoo's trainer options.", nameof(options)),
    };

    private static ShuffleNetV2Size? ParseShuffleSize(string size) => size switch
    {
        "0.5" => ShuffleNetV2Size.X0_5, "1.0" or "1" => ShuffleNetV2Size.X1_0,
        "1.5" => ShuffleNetV2Size.X1_5, "2.0" or "2" => ShuffleNetV2Size.X2_0,
        _ => null,
    };

    private static string SizeText(int size) => size switch { 0 => "0.5", 1 => "1.0", 2 => "1.5", 3 => "2.0", _ => size.ToString(CultureInfo.InvariantCulture) };

    private static float ParseWidth(string text, string name)
        => float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var width)
            ? width
            : throw new ArgumentException($"Model '{name}' has no valid width; expected {Syntax}.", nameof(name));

    // family [-g<groups>] -<size>[x]
    [GeneratedRegex(@"^(?<family>shufflenetv2|shufflenetv1|ghostnet|mobilenetv2)(-g(?<groups>\d+))?-(?<size>\d+(\.\d+)?)(?<x>x)?$", RegexOptions.IgnoreCase)]
    private static partial Regex NamePattern();
}

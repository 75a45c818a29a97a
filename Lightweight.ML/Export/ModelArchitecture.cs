using System.Text.Json.Nodes;
using Lightweight.ML.Models;

namespace Lightweight.ML.Export;

/// <summary>
/// Describes a network's architecture as a small JSON object and builds the same architecture back from it (with fresh
/// weights), so a saved pipeline can recreate its model before loading the weights. One case per zoo model.
/// </summary>
internal static class ModelArchitecture
{
    public static JsonObject Describe(ImageClassifierModel model) => model switch
    {
        ShuffleNetV2 m => new JsonObject
        {
            ["type"] = nameof(ShuffleNetV2), ["size"] = m.Size.ToString(), ["smallInput"] = m.SmallInput,
            ["inChannels"] = m.InChannels, ["numClasses"] = m.NumClasses,
        },
        GhostNet m => new JsonObject
        {
            ["type"] = nameof(GhostNet), ["width"] = m.Width, ["smallInput"] = m.SmallInput, ["dropout"] = m.DropoutRate,
            ["inChannels"] = m.InChannels, ["numClasses"] = m.NumClasses,
        },
        MobileNetV2 m => new JsonObject
        {
            ["type"] = nameof(MobileNetV2), ["width"] = m.Width, ["smallInput"] = m.SmallInput, ["dropout"] = m.DropoutRate,
            ["inChannels"] = m.InChannels, ["numClasses"] = m.NumClasses,
        },
        ShuffleNetV1 m => new JsonObject
        {
            ["type"] = nameof(ShuffleNetV1), ["size"] = m.Size.ToString(), ["groups"] = m.Groups, ["smallInput"] = m.SmallInput,
            ["inChannels"] = m.InChannels, ["numClasses"] = m.NumClasses,
        },
        _ => throw new NotSupportedException(
            $"Saving a {model.GetType().Name} is not supported; supported: {nameof(ShuffleNetV2)}, {nameof(GhostNet)}, {nameof(MobileNetV2)}, {nameof(ShuffleNetV1)}."),
    };

    /// <summary>Builds the described network; <see cref="InvalidDataException"/> (naming <paramref name="source"/>) on a bad description.</summary>
    public static ImageClassifierModel Create(JsonObject spec, string source)
    {
        try
        {
            string type = (string?)spec["type"] ?? throw new InvalidDataException("the architecture has no type");
            int classes = (int)spec["numClasses"]!, channels = (int)spec["inChannels"]!;
            bool small = (bool)spec["smallInput"]!;
            return type switch
            {
                nameof(ShuffleNetV2) => new ShuffleNetV2(Enum.Parse<ShuffleNetV2Size>((string)spec["size"]!), classes, channels, small),
                nameof(GhostNet) => new GhostNet(classes, (float)spec["width"]!, channels, small, (float)spec["dropout"]!),
                nameof(MobileNetV2) => new MobileNetV2(classes, (float)spec["width"]!, channels, small, (float)spec["dropout"]!),
                nameof(ShuffleNetV1) => new ShuffleNetV1(Enum.Parse<ShuffleNetV1Size>((string)spec["size"]!), (int)spec["groups"]!, classes, channels, small),
                _ => throw new InvalidDataException($"unknown architecture '{type}'"),
            };
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or InvalidOperationException or FormatException or NullReferenceException or OverflowException)
        {
            throw new InvalidDataException($"{source}: the model architecture description is invalid ({e.Message}): {spec.ToJsonString()}", e);
        }
    }
}

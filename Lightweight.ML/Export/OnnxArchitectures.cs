using Lightweight.ML.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Lightweight.ML.Export.OnnxGraphBuilder;

namespace Lightweight.ML.Export;

/// <summary>
/// The per-architecture part of ONNX export: for each supported <see cref="ImageClassifierModel"/> type, the graph
/// from the normalised input to the logits, written with <see cref="OnnxGraphBuilder"/> while walking the module tree
/// by its state_dict names (the same tree the model's forward runs). Only what the forward does beyond a plain
/// <see cref="Sequential"/> is spelled out here (splits, shortcuts, channel shuffle, SE, the head); standard modules go
/// through <see cref="OnnxGraphBuilder.Apply"/>. To add an architecture, add one method and one line to the table.
/// </summary>
internal static class OnnxArchitectures
{
    private delegate string LogitsGraph(OnnxGraphBuilder graph, ImageClassifierModel model, string input);

    private static readonly IReadOnlyDictionary<Type, LogitsGraph> Graphs = new Dictionary<Type, LogitsGraph>
    {
        [typeof(ShuffleNetV2)] = ShuffleNetV2Logits,
        [typeof(GhostNet)] = GhostNetLogits,
    };

    /// <summary>The model types that can be exported.</summary>
    public static IEnumerable<Type> Supported => Graphs.Keys;

    /// <summary>Appends the network (eval semantics) applied to <paramref name="input"/>; returns the logits value [N, classes].</summary>
    /// <exception cref="NotSupportedException">The model type, or a module inside it, has no ONNX conversion.</exception>
    public static string Logits(OnnxGraphBuilder graph, ImageClassifierModel model, string input)
    {
        if (!Graphs.TryGetValue(model.GetType(), out var build))
            throw new NotSupportedException(
                $"ONNX export does not support the model type {model.GetType().FullName}; supported: " +
                $"{string.Join(", ", Graphs.Keys.Select(t => t.Name))}.");
        return build(graph, model, input);
    }

    // ---- ShuffleNetV2 (Models/ShuffleNetV2.cs) --------------------------------------------------------------------

    private static string ShuffleNetV2Logits(OnnxGraphBuilder g, ImageClassifierModel model, string x)
    {
        var conv1 = Child<Sequential>(model, "conv1", "");
        bool smallInput = conv1.modules().OfType<Conv2d>().First().stride[0] == 1; // the small-input stem is conv1 at stride 1, no max-pool
        x = g.Apply(conv1, x, "conv1");
        if (!smallInput) x = g.Apply(Child(model, "maxpool", ""), x, "maxpool");
        foreach (var stage in new[] { "stage2", "stage3", "stage4" })
            foreach (var (name, unit) in Child<Sequential>(model, stage, "").named_children())
                x = ShuffleUnit(g, unit, x, Join(stage, name));
        x = g.Apply(Child(model, "conv5", ""), x, "conv5");
        x = g.Flatten(g.GlobalAveragePool(x, "mean"), "mean.flatten");
        return g.Gemm(x, Child<Linear>(model, "fc", ""), "fc");
    }

    /// <summary><see cref="ShuffleNetV2.InvertedResidual"/>: split (stride 1) or two branches (stride 2), concatenate, shuffle.</summary>
    private static string ShuffleUnit(OnnxGraphBuilder g, nn.Module unit, string x, string path)
    {
        var branch1 = Child<Sequential>(unit, "branch1", path);
        var branch2 = Child<Sequential>(unit, "branch2", path);
        long branchChannels = branch2.modules().OfType<Conv2d>().Last().out_channels;
        string joined;
        if (branch1.Count == 0) // stride 1: the first half passes through
        {
            var halves = g.Split(x, axis: 1, parts: 2, path + ".chunk");
            joined = g.Concat([halves[0], g.Apply(branch2, halves[1], Join(path, "branch2"))], 1, path + ".cat");
        }
        else
        {
            joined = g.Concat([g.Apply(branch1, x, Join(path, "branch1")), g.Apply(branch2, x, Join(path, "branch2"))], 1, path + ".cat");
        }
        return g.ChannelShuffle(joined, 2 * branchChannels, groups: 2, path + ".shuffle");
    }

    // ---- GhostNet (Models/GhostNet.cs) ----------------------------------------------------------------------------

    private static string GhostNetLogits(OnnxGraphBuilder g, ImageClassifierModel model, string x)
    {
        x = g.Relu(g.Conv(x, Child<Conv2d>(model, "conv_stem", ""), Child<BatchNorm2d>(model, "bn1", ""), "conv_stem"), "act1");
        foreach (var (stageName, stage) in Child<Sequential>(model, "blocks", "").named_children())
            foreach (var (blockName, block) in stage.named_children())
            {
                string path = $"blocks.{stageName}.{blockName}";
                if (TryChild(block, "ghost1") is not null)
                    x = GhostBottleneck(g, block, x, path);
                else if (TryChild(block, "conv") is Conv2d conv && TryChild(block, "bn1") is BatchNorm2d bn) // ConvBnAct
                    x = g.Relu(g.Conv(x, conv, bn, Join(path, "conv")), path + ".act");
                else
                    throw Unsupported(path, block, "not a Ghost bottleneck or ConvBnAct");
            }
        x = g.GlobalAveragePool(x, "global_pool");
        x = g.Relu(g.Conv(x, Child<Conv2d>(model, "conv_head", ""), null, "conv_head"), "act2");
        x = g.Flatten(x, "flatten"); // dropout: identity at inference
        return g.Gemm(x, Child<Linear>(model, "classifier", ""), "classifier");
    }

    /// <summary>ghost1 → (depthwise conv + BN if strided) → (SE) → ghost2, plus the shortcut (identity or dw conv/BN/1×1 conv/BN).</summary>
    private static string GhostBottleneck(OnnxGraphBuilder g, nn.Module block, string x, string path)
    {
        var ghost1 = Child(block, "ghost1", path);
        var ghost2 = Child(block, "ghost2", path);
        var shortcut = Child<Sequential>(block, "shortcut", path);
        long input = ghost1.modules().OfType<Conv2d>().First().in_channels;
        long mid = ghost2.modules().OfType<Conv2d>().First().in_channels;
        long output = shortcut.Count == 0 ? input : shortcut.modules().OfType<Conv2d>().Last().out_channels;

        string y = GhostModule(g, ghost1, x, mid, Join(path, "ghost1"));
        if (TryChild(block, "conv_dw") is Conv2d dw)
            y = g.Conv(y, dw, Child<BatchNorm2d>(block, "bn_dw", path), Join(path, "conv_dw"));
        if (TryChild(block, "se") is { } se)
            y = SqueezeExcite(g, se, y, Join(path, "se"));
        y = GhostModule(g, ghost2, y, output, Join(path, "ghost2"));
        string residual = shortcut.Count == 0 ? x : g.Apply(shortcut, x, Join(path, "shortcut"));
        return g.Add(y, residual, path);
    }

    /// <summary>primary_conv, cheap_operation on its output, both concatenated and trimmed to <paramref name="outChannels"/>.</summary>
    private static string GhostModule(OnnxGraphBuilder g, nn.Module module, string x, long outChannels, string path)
    {
        var primaryConv = Child<Sequential>(module, "primary_conv", path);
        string primary = g.Apply(primaryConv, x, Join(path, "primary_conv"));
        string cheap = g.Apply(Child(module, "cheap_operation", path), primary, Join(path, "cheap_operation"));
        string joined = g.Concat([primary, cheap], 1, path + ".cat");
        long joinedChannels = 2 * primaryConv.modules().OfType<Conv2d>().First().out_channels;
        return joinedChannels == outChannels ? joined : g.Slice(joined, axis: 1, 0, outChannels, path + ".narrow");
    }

    /// <summary>Mean over H, W → conv_reduce → ReLU → conv_expand → hard sigmoid → scale the input.</summary>
    private static string SqueezeExcite(OnnxGraphBuilder g, nn.Module se, string x, string path)
    {
        string s = g.GlobalAveragePool(x, path + ".mean");
        s = g.Relu(g.Conv(s, Child<Conv2d>(se, "conv_reduce", path), null, Join(path, "conv_reduce")), path + ".relu");
        s = g.HardSigmoid(g.Conv(s, Child<Conv2d>(se, "conv_expand", path), null, Join(path, "conv_expand")), path + ".gate");
        return g.Mul(x, s, path);
    }

    // ---- Module tree access ---------------------------------------------------------------------------------------

    private static nn.Module Child(nn.Module parent, string name, string parentPath) => OnnxGraphBuilder.Child(parent, name, parentPath);

    private static T Child<T>(nn.Module parent, string name, string parentPath) where T : nn.Module
        => Child(parent, name, parentPath) as T
           ?? throw new NotSupportedException(
               $"ONNX export expected '{Join(parentPath, name)}' to be a {typeof(T).Name}, found {Child(parent, name, parentPath).GetType().Name}.");
}

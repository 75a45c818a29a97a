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
        [typeof(MobileNetV2)] = MobileNetV2Logits,
        [typeof(ShuffleNetV1)] = ShuffleNetV1Logits,
    };

    /// <summary>The model types that can be exported.</summary>
    public static IEnumerable<Type> Supported => Graphs.Keys;

    /// <summary>Whether the type of <paramref name="model"/> has an ONNX conversion.</summary>
    public static bool IsSupported(ImageClassifierModel model) => Graphs.ContainsKey(model.GetType());

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
        bool smallInput = Convs(conv1).First().stride[0] == 1; // the small-input stem is conv1 at stride 1, no max-pool
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
        long branchChannels = Convs(branch2).Last().out_channels;
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
        long input = Convs(ghost1).First().in_channels;
        long mid = Convs(ghost2).First().in_channels;
        long output = shortcut.Count == 0 ? input : Convs(shortcut).Last().out_channels;

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
        long joinedChannels = 2 * Convs(primaryConv).First().out_channels;
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

    // ---- MobileNetV2 (Models/MobileNetV2.cs) ----------------------------------------------------------------------

    private static string MobileNetV2Logits(OnnxGraphBuilder g, ImageClassifierModel model, string x)
    {
        foreach (var (name, block) in Child<Sequential>(model, "features", "").named_children())
        {
            string path = Join("features", name);
            if (block is Sequential convBnReLU6) // the stem and the last 1×1 conv
                x = g.Apply(convBnReLU6, x, path);
            else if (TryChild(block, "conv") is Sequential conv)
                x = InvertedResidual(g, conv, x, path);
            else
                throw Unsupported(path, block, "not an inverted residual block or a conv/BN/ReLU6 Sequential");
        }
        x = g.Flatten(g.GlobalAveragePool(x, "mean"), "mean.flatten");
        return g.Apply(Child<Sequential>(model, "classifier", ""), x, "classifier"); // dropout: identity at inference
    }

    /// <summary>
    /// <c>conv</c> (expansion, depthwise, projection; ReLU6 → <c>Clip</c>), plus the input when no convolution is
    /// strided and the channel count is kept (the block's <c>use_res_connect</c>).
    /// </summary>
    private static string InvertedResidual(OnnxGraphBuilder g, Sequential conv, string x, string path)
    {
        var convs = Convs(conv).ToList();
        bool residual = convs.All(c => c.stride.All(s => s == 1)) && convs[0].in_channels == convs[^1].out_channels;
        string y = g.Apply(conv, x, Join(path, "conv"));
        return residual ? g.Add(x, y, path) : y;
    }

    // ---- ShuffleNetV1 (Models/ShuffleNetV1.cs) --------------------------------------------------------------------

    private static string ShuffleNetV1Logits(OnnxGraphBuilder g, ImageClassifierModel model, string x)
    {
        var firstConv = Child<Sequential>(model, "first_conv", "");
        bool smallInput = Convs(firstConv).First().stride[0] == 1; // small-input stem: stride 1, no max-pool
        x = g.Apply(firstConv, x, "first_conv");
        if (!smallInput) x = g.Apply(Child(model, "maxpool", ""), x, "maxpool");
        foreach (var (name, unit) in Child<Sequential>(model, "features", "").named_children())
            x = ShuffleV1Unit(g, unit, x, Join("features", name));
        x = g.Flatten(g.GlobalAveragePool(x, "mean"), "mean.flatten");
        return g.Apply(Child<Sequential>(model, "classifier", ""), x, "classifier"); // a linear layer without bias
    }

    /// <summary>
    /// <see cref="ShuffleNetV1"/>'s unit: branch_main_1, channel shuffle in Megvii's order (<c>mid / g</c> groups of the
    /// V2 shuffle; none when g = 1), branch_main_2; then ReLU(main + input) at stride 1, or at stride 2
    /// [branch_proj(input) (3×3 average pool), ReLU(main)] concatenated.
    /// </summary>
    private static string ShuffleV1Unit(OnnxGraphBuilder g, nn.Module unit, string x, string path)
    {
        var main1 = Child<Sequential>(unit, "branch_main_1", path);
        var main2 = Child<Sequential>(unit, "branch_main_2", path);
        long mid = Convs(main1).Last().out_channels;
        long groups = Convs(main2).First().groups;

        string y = g.Apply(main1, x, Join(path, "branch_main_1"));
        if (groups > 1) y = g.ChannelShuffle(y, mid, checked((int)(mid / groups)), path + ".shuffle");
        y = g.Apply(main2, y, Join(path, "branch_main_2"));
        if (TryChild(unit, "branch_proj") is { } proj) // stride 2
            return g.Concat([g.Apply(proj, x, Join(path, "branch_proj")), g.Relu(y, path + ".relu")], 1, path + ".cat");
        return g.Relu(g.Add(y, x, path + ".add"), path);
    }

    // ---- Module tree access ---------------------------------------------------------------------------------------

    private static nn.Module Child(nn.Module parent, string name, string parentPath) => OnnxGraphBuilder.Child(parent, name, parentPath);

    /// <summary>
    /// The convolutions under <paramref name="module"/> in state_dict (forward) order. Not <c>modules()</c>: TorchSharp
    /// lists all children before any grandchild, so in nested Sequentials its first Conv2d need not be the first applied.
    /// </summary>
    private static IEnumerable<Conv2d> Convs(nn.Module module)
    {
        foreach (var (_, child) in module.named_children())
        {
            if (child is Conv2d conv) yield return conv;
            else foreach (var inner in Convs(child)) yield return inner;
        }
    }

    private static T Child<T>(nn.Module parent, string name, string parentPath) where T : nn.Module
        => Child(parent, name, parentPath) as T
           ?? throw new NotSupportedException(
               $"ONNX export expected '{Join(parentPath, name)}' to be a {typeof(T).Name}, found {Child(parent, name, parentPath).GetType().Name}.");
}

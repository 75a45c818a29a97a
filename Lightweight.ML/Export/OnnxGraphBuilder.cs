using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lightweight.ML.Export;

/// <summary>
/// Builds an ONNX graph (opset <see cref="OnnxExport.OpsetVersion"/>) operator by operator. Each method appends the
/// nodes for one operation and returns the name of its output value; weights are copied out of TorchSharp modules as
/// <c>float32</c> initializers named after the module path (<c>stage2.0.branch2.0.weight</c>). Batch normalisation
/// that follows a convolution is folded into the convolution's weights and bias (in double precision).
/// <para>
/// Standard TorchSharp modules (<see cref="Sequential"/>, <see cref="Conv2d"/>, <see cref="BatchNorm2d"/>, activations,
/// pooling, <see cref="Linear"/>, dropout and identity) are converted by <see cref="Apply"/>; an architecture's own
/// blocks are written with the operator methods by its entry in <see cref="OnnxArchitectures"/>.
/// </para>
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly List<OnnxNode> _nodes = [];
    private readonly List<OnnxTensor> _initializers = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _suffixes = new(StringComparer.Ordinal);

    /// <summary>The nodes so far, in topological order.</summary>
    public IReadOnlyList<OnnxNode> Nodes => _nodes;

    /// <summary>The constant tensors so far (weights, shapes).</summary>
    public IReadOnlyList<OnnxTensor> Initializers => _initializers;

    /// <summary>Claims <paramref name="name"/> exactly (a graph input or output); throws if it is taken.</summary>
    public string Claim(string name)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"The ONNX value name '{name}' is already used.");
        return name;
    }

    /// <summary>A value name not used yet: <paramref name="hint"/>, or <c>hint_2</c>, <c>hint_3</c>, ...</summary>
    public string UniqueName(string hint)
    {
        if (_names.Add(hint)) return hint;
        int n = _suffixes.GetValueOrDefault(hint, 1);
        string name;
        do name = $"{hint}_{++n}"; while (!_names.Add(name));
        _suffixes[hint] = n;
        return name;
    }

    /// <summary>The graph built so far, with the given inputs and outputs.</summary>
    public OnnxGraph ToGraph(string name, IReadOnlyList<OnnxValueInfo> inputs, IReadOnlyList<OnnxValueInfo> outputs)
        => new() { Name = name, Nodes = _nodes.ToArray(), Initializers = _initializers.ToArray(), Inputs = inputs, Outputs = outputs };

    // ---- Constants ----------------------------------------------------------------------------------------------

    /// <summary>A float32 constant of shape <paramref name="dims"/> (empty for a scalar).</summary>
    public string Constant(string name, float[] values, params long[] dims)
    {
        var tensor = OnnxTensor.FromFloats(UniqueName(name), dims, values);
        _initializers.Add(tensor);
        return tensor.Name;
    }

    /// <summary>A 1-D int64 constant (shapes, axes, slice bounds).</summary>
    public string Int64s(string name, params long[] values)
    {
        var tensor = OnnxTensor.FromInt64s(UniqueName(name), [values.Length], values);
        _initializers.Add(tensor);
        return tensor.Name;
    }

    /// <summary>A float32 copy of a TorchSharp tensor (on any device, of any floating type).</summary>
    public string Weight(string name, Tensor value)
    {
        using var scope = NewDisposeScope();
        var data = value.detach().to(ScalarType.Float32).cpu().contiguous();
        var tensor = new OnnxTensor(UniqueName(name), OnnxDataType.Float, data.shape, OnnxTensor.LittleEndianBytes<byte>(data.bytes));
        _initializers.Add(tensor);
        return tensor.Name;
    }

    // ---- Nodes --------------------------------------------------------------------------------------------------

    /// <summary>Appends a node with one output named after <paramref name="name"/>.</summary>
    public string Node(string opType, string name, IReadOnlyList<string> inputs, params OnnxAttribute[] attributes)
        => Node(opType, name, inputs, 1, attributes)[0];

    /// <summary>Appends a node with <paramref name="outputs"/> outputs (<c>name</c>, <c>name_2</c>, ...).</summary>
    public string[] Node(string opType, string name, IReadOnlyList<string> inputs, int outputs, params OnnxAttribute[] attributes)
    {
        var names = new string[outputs];
        for (int i = 0; i < outputs; i++) names[i] = UniqueName(i == 0 ? name : $"{name}.{i}");
        _nodes.Add(new OnnxNode(opType, names[0], inputs, names, attributes));
        return names;
    }

    /// <summary>Appends a node whose single output is <paramref name="output"/>, a name <see cref="Claim"/>ed beforehand.</summary>
    public string NodeWithOutput(string opType, string output, IReadOnlyList<string> inputs, params OnnxAttribute[] attributes)
    {
        if (!_names.Contains(output)) throw new InvalidOperationException($"Claim the graph output name '{output}' before building the graph.");
        _nodes.Add(new OnnxNode(opType, output, inputs, [output], attributes));
        return output;
    }

    // ---- Operators ----------------------------------------------------------------------------------------------

    /// <summary>
    /// <c>Conv</c> with the weights of <paramref name="conv"/>, and <paramref name="bn"/> (running statistics, eval mode)
    /// folded in: w' = w·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β, computed in double precision.
    /// </summary>
    public string Conv(string x, Conv2d conv, BatchNorm2d? bn, string name)
    {
        if (conv.padding_mode != PaddingModes.Zeros || conv.padding is null || conv.transposed)
            throw Unsupported(name, conv, "only zero-padded, non-transposed convolutions with explicit padding are exported");
        string weight, bias;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var w = conv.weight.detach().cpu().to(ScalarType.Float64);
            var b = conv.bias is { } cb ? cb.detach().cpu().to(ScalarType.Float64) : zeros(conv.out_channels, ScalarType.Float64);
            if (bn is not null)
            {
                var (scale, shift) = BatchNormAffine(bn, name);
                w = w.mul(scale.view(-1, 1, 1, 1));
                b = b.mul(scale).add(shift);
            }
            weight = Weight(name + ".weight", w);
            bias = Weight(name + ".bias", b);
        }
        long[] pads = [.. conv.padding, .. conv.padding];
        return Node("Conv", name, [x, weight, bias],
            OnnxAttribute.Ints("kernel_shape", conv.kernel_size),
            OnnxAttribute.Ints("strides", conv.stride),
            OnnxAttribute.Ints("pads", pads),
            OnnxAttribute.Ints("dilations", conv.dilation),
            OnnxAttribute.Int("group", conv.groups));
    }

    /// <summary><c>BatchNormalization</c> in inference mode (running statistics), for a batch norm that no convolution precedes.</summary>
    public string BatchNormalization(string x, BatchNorm2d bn, string name)
    {
        string scale, shift;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            CheckRunningStatistics(bn, name);
            scale = Weight(name + ".weight", bn.weight is { } g ? g : ones(bn.num_features));
            shift = Weight(name + ".bias", bn.bias is { } b ? b : zeros(bn.num_features));
        }
        string mean = Weight(name + ".running_mean", bn.running_mean!);
        string variance = Weight(name + ".running_var", bn.running_var!);
        return Node("BatchNormalization", name, [x, scale, shift, mean, variance], OnnxAttribute.Float("epsilon", (float)bn.eps));
    }

    public string Relu(string x, string name) => Node("Relu", name, [x]);

    /// <summary><c>Clip</c> to [<paramref name="min"/>, <paramref name="max"/>] (ReLU6 is Clip(0, 6)).</summary>
    public string Clip(string x, float min, float max, string name)
        => Node("Clip", name, [x, Constant(name + ".min", [min]), Constant(name + ".max", [max])]);

    /// <summary><c>HardSigmoid</c>: max(0, min(1, αx + β)); PyTorch's hardsigmoid is α = 1/6, β = 1/2.</summary>
    public string HardSigmoid(string x, string name, float alpha = 1f / 6, float beta = 0.5f)
        => Node("HardSigmoid", name, [x], OnnxAttribute.Float("alpha", alpha), OnnxAttribute.Float("beta", beta));

    public string Sigmoid(string x, string name) => Node("Sigmoid", name, [x]);

    public string Mul(string a, string b, string name) => Node("Mul", name, [a, b]);

    public string Add(string a, string b, string name) => Node("Add", name, [a, b]);

    public string Sub(string a, string b, string name) => Node("Sub", name, [a, b]);

    public string Round(string x, string name) => Node("Round", name, [x]);

    /// <summary><c>ReduceSum</c> over <paramref name="axes"/>, keeping them (opset 13 takes the axes as an input).</summary>
    public string ReduceSum(string x, long[] axes, string name)
        => Node("ReduceSum", name, [x, Int64s(name + ".axes", axes)], OnnxAttribute.Int("keepdims", 1));

    public string Concat(IReadOnlyList<string> inputs, int axis, string name)
        => Node("Concat", name, inputs, OnnxAttribute.Int("axis", axis));

    /// <summary><c>Split</c> into <paramref name="parts"/> equal parts along <paramref name="axis"/> (torch's <c>chunk</c>
    /// when the size divides evenly).</summary>
    public string[] Split(string x, int axis, int parts, string name)
        => Node("Split", name, [x], parts, OnnxAttribute.Int("axis", axis));

    /// <summary><c>Slice</c> [<paramref name="start"/>, <paramref name="end"/>) along <paramref name="axis"/> (torch's <c>narrow</c>).</summary>
    public string Slice(string x, int axis, long start, long end, string name)
        => Node("Slice", name, [x, Int64s(name + ".starts", start), Int64s(name + ".ends", end), Int64s(name + ".axes", axis)]);

    /// <summary><c>Reshape</c> to a constant shape (0 copies the input's dimension, −1 is inferred).</summary>
    public string Reshape(string x, long[] shape, string name) => Node("Reshape", name, [x, Int64s(name + ".shape", shape)]);

    /// <summary><c>Reshape</c> to the shape held by the int64 value <paramref name="shape"/>.</summary>
    public string Reshape(string x, string shape, string name) => Node("Reshape", name, [x, shape]);

    public string Shape(string x, string name) => Node("Shape", name, [x]);

    public string Transpose(string x, long[] perm, string name) => Node("Transpose", name, [x], OnnxAttribute.Ints("perm", perm));

    /// <summary>
    /// Channel shuffle of an NCHW value with <paramref name="channels"/> channels in <paramref name="groups"/> groups
    /// (<see cref="Models.ShuffleNetV2.ChannelShuffle"/>): reshape to [N, g, C/g, H·W], swap axes 1 and 2, reshape back
    /// to the input's own shape, so the batch and spatial sizes stay dynamic.
    /// </summary>
    public string ChannelShuffle(string x, long channels, int groups, string name)
    {
        if (channels % groups != 0)
            throw new ArgumentException($"Channel count {channels} is not divisible by groups={groups} at '{name}'.", nameof(groups));
        string shape = Shape(x, name + ".shape");
        string grouped = Reshape(x, [0, groups, channels / groups, -1], name + ".grouped");
        string transposed = Transpose(grouped, [0, 2, 1, 3], name + ".transposed");
        return Reshape(transposed, shape, name);
    }

    public string MaxPool(string x, MaxPool2d pool, string name)
    {
        long[] stride = pool.stride ?? pool.kernel_size;
        long[] padding = pool.padding ?? [0, 0];
        long[] dilation = pool.dilation ?? [1, 1];
        return Node("MaxPool", name, [x],
            OnnxAttribute.Ints("kernel_shape", pool.kernel_size),
            OnnxAttribute.Ints("strides", stride),
            OnnxAttribute.Ints("pads", [.. padding, .. padding]),
            OnnxAttribute.Ints("dilations", dilation),
            OnnxAttribute.Int("ceil_mode", pool.ceil_mode ? 1 : 0));
    }

    public string AveragePool(string x, AvgPool2d pool, string name)
    {
        if (pool.divisor_override is not null) throw Unsupported(name, pool, "divisor_override has no ONNX equivalent");
        long[] stride = pool.stride ?? pool.kernel_size;
        long[] padding = pool.padding ?? [0, 0];
        return Node("AveragePool", name, [x],
            OnnxAttribute.Ints("kernel_shape", pool.kernel_size),
            OnnxAttribute.Ints("strides", stride),
            OnnxAttribute.Ints("pads", [.. padding, .. padding]),
            OnnxAttribute.Int("ceil_mode", pool.ceil_mode ? 1 : 0),
            OnnxAttribute.Int("count_include_pad", pool.count_include_pad ? 1 : 0));
    }

    /// <summary><c>GlobalAveragePool</c>: the mean over H and W, kept as [N, C, 1, 1] (torch's <c>mean([2, 3], keepdim: true)</c>).</summary>
    public string GlobalAveragePool(string x, string name) => Node("GlobalAveragePool", name, [x]);

    /// <summary><c>Flatten</c> to [N, rest] (torch's <c>flatten(1)</c>).</summary>
    public string Flatten(string x, string name) => Node("Flatten", name, [x], OnnxAttribute.Int("axis", 1));

    /// <summary><c>Gemm</c> with the weights of <paramref name="linear"/>: x·Wᵀ + b (x·Wᵀ, without the optional C input, for a layer without bias).</summary>
    public string Gemm(string x, Linear linear, string name)
    {
        string weight = Weight(name + ".weight", linear.weight!);
        string[] inputs = linear.bias is { } b ? [x, weight, Weight(name + ".bias", b)] : [x, weight];
        return Node("Gemm", name, inputs, OnnxAttribute.Int("transB", 1));
    }

    // ---- Standard modules ---------------------------------------------------------------------------------------

    /// <summary>
    /// Converts a standard TorchSharp module applied to <paramref name="x"/>; <paramref name="path"/> is its state_dict
    /// prefix (used for names and errors). In a <see cref="Sequential"/>, a <see cref="Conv2d"/> directly followed by a
    /// <see cref="BatchNorm2d"/> becomes one folded <c>Conv</c>. Dropout and identity add nothing (eval semantics).
    /// </summary>
    /// <exception cref="NotSupportedException">A module type (or setting) that has no conversion; the message names it and its path.</exception>
    public string Apply(nn.Module module, string x, string path)
    {
        switch (module)
        {
            case Sequential sequential:
                var children = sequential.named_children().ToList();
                for (int i = 0; i < children.Count; i++)
                {
                    var (childName, child) = children[i];
                    string childPath = Join(path, childName);
                    if (child is Conv2d conv && i + 1 < children.Count && children[i + 1].module is BatchNorm2d bn)
                    {
                        x = Conv(x, conv, bn, childPath);
                        i++;
                    }
                    else
                    {
                        x = Apply(child, x, childPath);
                    }
                }
                return x;
            case Conv2d conv: return Conv(x, conv, null, path);
            case BatchNorm2d bn: return BatchNormalization(x, bn, path);
            case ReLU: return Relu(x, path);
            case ReLU6: return Clip(x, 0, 6, path);
            case Hardtanh hardtanh: return Clip(x, (float)hardtanh.min_val, (float)hardtanh.max_val, path);
            case Hardsigmoid: return HardSigmoid(x, path);
            case Hardswish: return Mul(x, HardSigmoid(x, path + ".gate"), path);
            case TorchSharp.Modules.Sigmoid: return Sigmoid(x, path);
            case MaxPool2d pool: return MaxPool(x, pool, path);
            case AvgPool2d pool: return AveragePool(x, pool, path);
            case AdaptiveAvgPool2d pool when pool.output_size.All(s => s == 1): return GlobalAveragePool(x, path);
            case Flatten flatten when flatten.start_dim == 1 && flatten.end_dim == -1: return Flatten(x, path);
            case Linear linear: return Gemm(x, linear, path);
            case Dropout or Identity: return x;
            default: throw Unsupported(path, module, null);
        }
    }

    /// <summary>The registered submodule <paramref name="name"/> of <paramref name="parent"/> (a state_dict key part).</summary>
    /// <exception cref="NotSupportedException">There is no such submodule: the module tree is not the one the exporter knows.</exception>
    public static nn.Module Child(nn.Module parent, string name, string parentPath)
        => TryChild(parent, name)
           ?? throw new NotSupportedException(
               $"ONNX export expected a submodule '{Join(parentPath, name)}' in {parent.GetType().Name}; the module tree differs from the one the exporter supports.");

    /// <summary>The registered submodule <paramref name="name"/>, or null.</summary>
    public static nn.Module? TryChild(nn.Module parent, string name)
        => parent.named_children().Where(c => c.name == name).Select(c => c.module).FirstOrDefault();

    /// <summary>A state_dict path: <c>parent.child</c>, or <c>child</c> at the root.</summary>
    public static string Join(string parent, string child) => parent.Length == 0 ? child : parent + "." + child;

    /// <summary>The exception for a module that cannot be exported, naming its path and type.</summary>
    public static NotSupportedException Unsupported(string path, nn.Module module, string? reason)
        => new($"ONNX export does not support the module '{(path.Length == 0 ? "<root>" : path)}' of type {module.GetType().FullName}" +
               (reason is null ? "." : $": {reason}."));

    /// <summary>(γ/√(σ²+ε), β − μ·γ/√(σ²+ε)) in double precision, as 1-D CPU tensors (in the caller's dispose scope).</summary>
    private static (Tensor Scale, Tensor Shift) BatchNormAffine(BatchNorm2d bn, string name)
    {
        CheckRunningStatistics(bn, name);
        var mean = bn.running_mean!.detach().cpu().to(ScalarType.Float64);
        var variance = bn.running_var!.detach().cpu().to(ScalarType.Float64);
        var gamma = bn.weight is { } w ? w.detach().cpu().to(ScalarType.Float64) : ones(bn.num_features, ScalarType.Float64);
        var beta = bn.bias is { } b ? b.detach().cpu().to(ScalarType.Float64) : zeros(bn.num_features, ScalarType.Float64);
        var scale = gamma.div(variance.add(bn.eps).sqrt());
        return (scale, beta.sub(mean.mul(scale)));
    }

    private static void CheckRunningStatistics(BatchNorm2d bn, string name)
    {
        if (bn.running_mean is null || bn.running_var is null)
            throw Unsupported(name, bn, "a batch norm without running statistics normalises with batch statistics, which ONNX inference does not");
    }
}

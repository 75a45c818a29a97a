// The subset of ONNX's protobuf schema (onnx/onnx.proto, IR version 7) that a feed-forward image classifier needs,
// encoded by hand with Google.Protobuf's CodedOutputStream: no generated code, no protoc. Field numbers are the ones
// onnx.proto assigns; every message is written in one pass after its size is computed (and cached) once.
using System.Runtime.InteropServices;
using Google.Protobuf;

namespace Lightweight.ML.Export;

/// <summary>ONNX <c>TensorProto.DataType</c> values used here.</summary>
internal enum OnnxDataType
{
    Float = 1,
    Int64 = 7,
}

/// <summary>A protobuf message: its fields, described once and used both to size and to write it.</summary>
internal abstract class OnnxMessage
{
    private int _size = -1;

    /// <summary>Visits the fields to be encoded, in field-number order where it matters to readers.</summary>
    protected abstract void Fields(ProtoFields fields);

    /// <summary>Encoded size in bytes (computed once).</summary>
    public int Size
    {
        get
        {
            if (_size < 0)
            {
                var sizer = new ProtoFields(null);
                Fields(sizer);
                _size = checked((int)sizer.Size);
            }
            return _size;
        }
    }

    /// <summary>Writes the fields (without a tag or length prefix).</summary>
    public void WriteTo(CodedOutputStream output) => Fields(new ProtoFields(output));
}

/// <summary>
/// Field encoder for <see cref="OnnxMessage"/>: with an output stream it writes each field, without one it only adds
/// up the encoded size, so that each message states its fields once.
/// </summary>
internal sealed class ProtoFields
{
    private readonly CodedOutputStream? _output;

    public ProtoFields(CodedOutputStream? output) => _output = output;

    /// <summary>Bytes the visited fields take (sizing mode only).</summary>
    public long Size { get; private set; }

    public void String(int field, string? value)
    {
        if (value is null) return;
        if (_output is null) { Size += CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeStringSize(value); return; }
        _output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _output.WriteString(value);
    }

    public void Strings(int field, IEnumerable<string> values)
    {
        foreach (var v in values) String(field, v);
    }

    public void Int64(int field, long value)
    {
        if (_output is null) { Size += CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeInt64Size(value); return; }
        _output.WriteTag(field, WireFormat.WireType.Varint);
        _output.WriteInt64(value);
    }

    public void Float(int field, float value)
    {
        if (_output is null) { Size += CodedOutputStream.ComputeTagSize(field) + 4; return; }
        _output.WriteTag(field, WireFormat.WireType.Fixed32);
        _output.WriteFloat(value);
    }

    /// <summary>A repeated int64 field, unpacked (proto2's default encoding, which onnx.proto uses for ints and dims).</summary>
    public void Int64s(int field, IEnumerable<long> values)
    {
        foreach (var v in values) Int64(field, v);
    }

    /// <summary>A repeated float field, unpacked (proto2 default; parsers accept either form).</summary>
    public void Floats(int field, IEnumerable<float> values)
    {
        foreach (var v in values) Float(field, v);
    }

    public void Bytes(int field, ReadOnlyMemory<byte> value)
    {
        if (_output is null)
        {
            Size += CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeLengthSize(value.Length) + value.Length;
            return;
        }
        _output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _output.WriteBytes(UnsafeByteOperations.UnsafeWrap(value));
    }

    public void Message(int field, OnnxMessage? message)
    {
        if (message is null) return;
        int size = message.Size;
        if (_output is null) { Size += CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeLengthSize(size) + size; return; }
        _output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _output.WriteLength(size);
        message.WriteTo(_output);
    }

    public void Messages(int field, IEnumerable<OnnxMessage> messages)
    {
        foreach (var m in messages) Message(field, m);
    }
}

/// <summary><c>TensorProto</c>: a named constant (weights, shapes) with its data little-endian in <c>raw_data</c>.</summary>
internal sealed class OnnxTensor : OnnxMessage
{
    public OnnxTensor(string name, OnnxDataType dataType, long[] dims, byte[] rawData)
    {
        long elements = dims.Aggregate(1L, (a, d) => a * d);
        int elementSize = dataType == OnnxDataType.Float ? 4 : 8;
        if (rawData.Length != elements * elementSize)
            throw new ArgumentException($"Tensor '{name}' has {rawData.Length} bytes for shape [{string.Join(", ", dims)}].", nameof(rawData));
        Name = name;
        DataType = dataType;
        Dims = dims;
        RawData = rawData;
    }

    public string Name { get; }
    public OnnxDataType DataType { get; }
    public long[] Dims { get; }
    public byte[] RawData { get; }

    public static OnnxTensor FromFloats(string name, long[] dims, ReadOnlySpan<float> values)
        => new(name, OnnxDataType.Float, dims, LittleEndianBytes(values));

    public static OnnxTensor FromInt64s(string name, long[] dims, ReadOnlySpan<long> values)
        => new(name, OnnxDataType.Int64, dims, LittleEndianBytes(values));

    /// <summary>The in-memory bytes of <paramref name="values"/>, which ONNX's raw_data wants little-endian.</summary>
    public static byte[] LittleEndianBytes<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX export needs a little-endian machine (ONNX raw_data is little-endian).");
        return MemoryMarshal.AsBytes(values).ToArray();
    }

    protected override void Fields(ProtoFields f)
    {
        f.Int64s(1, Dims);            // dims
        f.Int64(2, (int)DataType);    // data_type
        f.String(8, Name);            // name
        f.Bytes(9, RawData);          // raw_data
    }
}

/// <summary><c>AttributeProto</c> of type INT, INTS, FLOAT or STRING.</summary>
internal sealed class OnnxAttribute : OnnxMessage
{
    private enum AttributeType { Float = 1, Int = 2, String = 3, Ints = 7 }

    private readonly AttributeType _type;
    private readonly float _float;
    private readonly long _int;
    private readonly string? _string;
    private readonly long[] _ints;

    private OnnxAttribute(string name, AttributeType type, float f = 0, long i = 0, string? s = null, long[]? ints = null)
        => (Name, _type, _float, _int, _string, _ints) = (name, type, f, i, s, ints ?? []);

    public string Name { get; }

    public static OnnxAttribute Int(string name, long value) => new(name, AttributeType.Int, i: value);
    public static OnnxAttribute Ints(string name, params long[] values) => new(name, AttributeType.Ints, ints: values);
    public static OnnxAttribute Float(string name, float value) => new(name, AttributeType.Float, f: value);
    public static OnnxAttribute String(string name, string value) => new(name, AttributeType.String, s: value);

    protected override void Fields(ProtoFields f)
    {
        f.String(1, Name);                                      // name
        switch (_type)
        {
            case AttributeType.Float: f.Float(2, _float); break; // f
            case AttributeType.Int: f.Int64(3, _int); break;     // i
            case AttributeType.String: f.String(4, _string); break; // s (bytes, UTF-8)
            case AttributeType.Ints: f.Int64s(8, _ints); break;  // ints
        }
        f.Int64(20, (int)_type);                                // type
    }
}

/// <summary><c>NodeProto</c>: one operator of the default ONNX domain.</summary>
internal sealed class OnnxNode : OnnxMessage
{
    public OnnxNode(string opType, string name, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, IReadOnlyList<OnnxAttribute> attributes)
        => (OpType, Name, Inputs, Outputs, Attributes) = (opType, name, inputs, outputs, attributes);

    public string OpType { get; }
    public string Name { get; }
    public IReadOnlyList<string> Inputs { get; }
    public IReadOnlyList<string> Outputs { get; }
    public IReadOnlyList<OnnxAttribute> Attributes { get; }

    protected override void Fields(ProtoFields f)
    {
        f.Strings(1, Inputs);          // input
        f.Strings(2, Outputs);         // output
        f.String(3, Name);             // name
        f.String(4, OpType);           // op_type
        f.Messages(5, Attributes);     // attribute
    }
}

/// <summary>
/// <c>ValueInfoProto</c> of a float tensor: name, element type and shape, each dimension a number or a symbolic name
/// (<c>TypeProto.tensor_type</c> → <c>TensorShapeProto.dim</c> → <c>dim_value</c> / <c>dim_param</c>).
/// </summary>
internal sealed class OnnxValueInfo : OnnxMessage
{
    private readonly TypeMessage _type;

    /// <param name="name">Value name.</param>
    /// <param name="elementType">Element type.</param>
    /// <param name="dims">Each a <see cref="long"/> (fixed size) or a <see cref="string"/> (symbolic, e.g. the batch).</param>
    /// <param name="docString">Description shown by viewers.</param>
    public OnnxValueInfo(string name, OnnxDataType elementType, object[] dims, string? docString = null)
    {
        Name = name;
        DocString = docString;
        _type = new TypeMessage(new TensorTypeMessage(elementType, new ShapeMessage(dims.Select(d => new DimensionMessage(d)).ToArray())));
    }

    public string Name { get; }
    public string? DocString { get; }

    protected override void Fields(ProtoFields f)
    {
        f.String(1, Name);        // name
        f.Message(2, _type);      // type
        f.String(3, DocString);   // doc_string
    }

    private sealed class TypeMessage(TensorTypeMessage tensor) : OnnxMessage
    {
        protected override void Fields(ProtoFields f) => f.Message(1, tensor); // tensor_type
    }

    private sealed class TensorTypeMessage(OnnxDataType elementType, ShapeMessage shape) : OnnxMessage
    {
        protected override void Fields(ProtoFields f)
        {
            f.Int64(1, (int)elementType); // elem_type
            f.Message(2, shape);          // shape
        }
    }

    private sealed class ShapeMessage(DimensionMessage[] dims) : OnnxMessage
    {
        protected override void Fields(ProtoFields f) => f.Messages(1, dims); // dim
    }

    private sealed class DimensionMessage(object dim) : OnnxMessage
    {
        protected override void Fields(ProtoFields f)
        {
            switch (dim)
            {
                case long value: f.Int64(1, value); break;  // dim_value
                case string name: f.String(2, name); break; // dim_param
                default: throw new ArgumentException($"A dimension is a long or a string, not {dim?.GetType().Name ?? "null"}.");
            }
        }
    }
}

/// <summary><c>GraphProto</c>: nodes in topological order, initializers (weights), inputs and outputs.</summary>
internal sealed class OnnxGraph : OnnxMessage
{
    public required string Name { get; init; }
    public required IReadOnlyList<OnnxNode> Nodes { get; init; }
    public required IReadOnlyList<OnnxTensor> Initializers { get; init; }
    public required IReadOnlyList<OnnxValueInfo> Inputs { get; init; }
    public required IReadOnlyList<OnnxValueInfo> Outputs { get; init; }
    public string? DocString { get; init; }

    protected override void Fields(ProtoFields f)
    {
        f.Messages(1, Nodes);          // node
        f.String(2, Name);             // name
        f.Messages(5, Initializers);   // initializer
        f.String(10, DocString);       // doc_string
        f.Messages(11, Inputs);        // input
        f.Messages(12, Outputs);       // output
    }
}

/// <summary><c>ModelProto</c> with one opset import (the default domain) and string metadata.</summary>
internal sealed class OnnxModel : OnnxMessage
{
    public required long IrVersion { get; init; }
    public required long OpsetVersion { get; init; }
    public required string ProducerName { get; init; }
    public required string ProducerVersion { get; init; }
    public required OnnxGraph Graph { get; init; }
    public string? DocString { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; init; } = [];

    protected override void Fields(ProtoFields f)
    {
        f.Int64(1, IrVersion);                     // ir_version
        f.String(2, ProducerName);                 // producer_name
        f.String(3, ProducerVersion);              // producer_version
        f.String(6, DocString);                    // doc_string
        f.Message(7, Graph);                       // graph
        f.Message(8, new OpsetImport(OpsetVersion)); // opset_import (domain "" = ai.onnx)
        f.Messages(14, Metadata.Select(kv => new StringEntry(kv.Key, kv.Value))); // metadata_props
    }

    /// <summary>Encodes the model to <paramref name="stream"/>.</summary>
    public void WriteTo(Stream stream)
    {
        using var output = new CodedOutputStream(stream, leaveOpen: true);
        WriteTo(output);
        output.Flush();
    }

    private sealed class OpsetImport(long version) : OnnxMessage
    {
        protected override void Fields(ProtoFields f)
        {
            f.String(1, "");        // domain
            f.Int64(2, version);    // version
        }
    }

    private sealed class StringEntry(string key, string value) : OnnxMessage
    {
        protected override void Fields(ProtoFields f)
        {
            f.String(1, key);   // key
            f.String(2, value); // value
        }
    }
}

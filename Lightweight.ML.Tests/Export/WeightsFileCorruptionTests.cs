using System.Buffers.Binary;
using System.Text;
using Lightweight.ML.Models;
using static TorchSharp.torch;

namespace Lightweight.ML.Tests.Export;

/// <summary>
/// Corrupt, truncated, forged and foreign weights files: each gives a specific exception that names the file (and the
/// tensor where one is to blame), never a crash, a hang or a huge allocation, and leaves the model unchanged.
/// </summary>
[TestClass]
public sealed class WeightsFileCorruptionTests
{
    private static string _folder = null!;
    private static string _valid = null!;
    private static string _validDat = null!;
    private static ImageClassifierModel _target = null!;
    private static Dictionary<string, Tensor> _targetState = null!;

    [ClassInitialize]
    public static void WriteValidFiles(TestContext _)
    {
        _folder = TestData.NewTempFolder();
        using var model = ModelWeightsTests.Make("ShuffleNetV2", seed: 21);
        _valid = Path.Combine(_folder, "valid.safetensors");
        _validDat = Path.Combine(_folder, "valid.dat");
        ModelWeights.Save(model, _valid);
        ModelWeights.Save(model, _validDat);
        _target = ModelWeightsTests.Make("ShuffleNetV2", seed: 22);
        _targetState = _target.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    }

    [ClassCleanup]
    public static void DisposeModel()
    {
        _target.Dispose();
        foreach (var t in _targetState.Values) t.Dispose();
    }

    private static string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A safetensors file from a header string and data bytes; the length field is the header's unless forged.</summary>
    private static string WriteSafetensors(string name, string header, int dataBytes, ulong? headerLength = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        return Write(name + ".safetensors", bytes);
    }

    /// <summary>Loading the file fails with <typeparamref name="TException"/> naming it, and leaves the model unchanged.</summary>
    private static TException LoadFails<TException>(string path) where TException : Exception
    {
        var e = Assert.ThrowsExactly<TException>(() => ModelWeights.Load(_target, path));
        StringAssert.Contains(e.Message, path);
        foreach (var (key, value) in _target.state_dict())
            Assert.IsTrue(_targetState[key].Equals(value), $"{key} changed although loading failed");
        return e;
    }

    [TestMethod]
    public void ZeroByteFiles()
    {
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("empty.safetensors", [])).Message, "0 byte(s) long");
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("empty.dat", [])).Message, "it is empty");
    }

    [TestMethod]
    public void TruncatedFiles()
    {
        var bytes = File.ReadAllBytes(_valid);
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("cut-data.safetensors", bytes[..^100])).Message,
            "reach past the");
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("cut-header.safetensors", bytes[..200])).Message,
            "header length field says");
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("cut-prefix.safetensors", bytes[..5])).Message,
            "5 byte(s) long");
        var dat = File.ReadAllBytes(_validDat);
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("cut.dat", dat[..^100])).Message, "truncated");
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("cut-early.dat", dat[..30])).Message, "truncated");
    }

    [TestMethod]
    public void ForgedHeaderLengthIsRejectedBeforeAnyAllocation()
    {
        var path = WriteSafetensors("forged", "{}", 0, headerLength: 1UL << 60);
        StringAssert.Contains(LoadFails<InvalidDataException>(path).Message, "header length field says 1,152,921,504,606,846,976 bytes");
        path = WriteSafetensors("forged-max", "{}", 0, headerLength: ulong.MaxValue);
        StringAssert.Contains(LoadFails<InvalidDataException>(path).Message, "header length field says");

        // A header length within the file but above the 100 MB cap (a sparse file: no disk space used).
        path = Path.Combine(_folder, "huge-header.safetensors");
        using (var stream = new FileStream(path, FileMode.Create))
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)Safetensors.MaxHeaderBytes + 1);
            stream.Write(length);
            stream.SetLength(Safetensors.MaxHeaderBytes + 16);
        }
        StringAssert.Contains(LoadFails<InvalidDataException>(path).Message, "exceeds the 100,000,000-byte limit");
    }

    [TestMethod]
    public void HeaderThatIsNotJson()
    {
        StringAssert.Contains(LoadFails<InvalidDataException>(WriteSafetensors("notjson", "{\"w\": {\"dtype\": ", 0)).Message,
            "header is not valid JSON");
        StringAssert.Contains(LoadFails<InvalidDataException>(WriteSafetensors("array", "[1, 2]  ", 0)).Message,
            "not a JSON object (it starts with byte 0x5B");
        StringAssert.Contains(LoadFails<InvalidDataException>(WriteSafetensors("meta", "{\"__metadata__\":{\"a\":1}}", 0)).Message,
            "__metadata__ value for 'a' is not a string");
        StringAssert.Contains(LoadFails<InvalidDataException>(WriteSafetensors("dup",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8)).Message,
            "names 'w' twice");
        StringAssert.Contains(LoadFails<InvalidDataException>(WriteSafetensors("noshape",
                "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4)).Message,
            "tensor 'w': it has no \"shape\" array");
        StringAssert.Contains(LoadFails<InvalidDataException>(WriteSafetensors("negative",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4)).Message,
            "tensor 'w': its \"shape\" holds -1, not a non-negative integer");
    }

    [TestMethod]
    public void OffsetsOutOfRangeOverlappingOrLeavingGaps()
    {
        const string One = "\"dtype\":\"F32\",\"shape\":[2]";
        StringAssert.Contains(LoadFails<InvalidDataException>(WriteSafetensors("range", $"{{\"w\":{{{One},\"data_offsets\":[0,8]}}}}", 4)).Message,
            "tensor 'w': its data_offsets [0, 8] reach past the 4-byte data section");
        StringAssert.Contains(LoadFails<InvalidDataException>(WriteSafetensors("overlap",
                $"{{\"a\":{{{One},\"data_offsets\":[0,8]}},\"b\":{{{One},\"data_offsets\":[4,12]}}}}", 12)).Message,
            "tensor 'b': its data_offsets [4, 12] overlap tensor 'a'");
        StringAssert.Contains(LoadFails<InvalidDataException>(WriteSafetensors("gap",
                $"{{\"a\":{{{One},\"data_offsets\":[0,8]}},\"b\":{{{One},\"data_offsets\":[12,20]}}}}", 20)).Message,
            "tensor 'b': its data_offsets [12, 20] leave a gap of 4 bytes");
        StringAssert.Contains(LoadFails<InvalidDataException>(WriteSafetensors("tail", $"{{\"a\":{{{One},\"data_offsets\":[0,8]}}}}", 12)).Message,
            "4 byte(s) at the end of its data section belong to no tensor");
        StringAssert.Contains(LoadFails<InvalidDataException>(WriteSafetensors("reversed", $"{{\"a\":{{{One},\"data_offsets\":[8,0]}}}}", 8)).Message,
            "are not a [begin, end] pair");
        StringAssert.Contains(LoadFails<InvalidDataException>(WriteSafetensors("count",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8)).Message,
            "tensor 'a': shape [3] of F32 needs 12 bytes, but data_offsets [0, 8] span 8");
        StringAssert.Contains(LoadFails<InvalidDataException>(WriteSafetensors("overflow",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8)).Message,
            "is too large");
    }

    [TestMethod]
    public void UnknownDtypeNamesTheFileAndTheTensor()
    {
        var e = LoadFails<InvalidDataException>(WriteSafetensors("fp8",
            "{\"conv1.0.weight\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4));
        StringAssert.Contains(e.Message, "tensor 'conv1.0.weight': its dtype 'F8_E4M3' is not supported (supported: F64, F32, F16, BF16");
    }

    [TestMethod]
    public void WrongShapeOrTypeForTheModel()
    {
        using var scope = NewDisposeScope();
        using var model = ModelWeightsTests.Make("ShuffleNetV2", seed: 23);
        var state = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        state["conv1.0.weight"] = randn(24, 3, 5, 5);
        state["conv1.1.num_batches_tracked"] = tensor(1.0f);
        var path = Path.Combine(_folder, "shape.safetensors");
        Safetensors.Save(path, state);
        var e = LoadFails<WeightsMismatchException>(path);
        StringAssert.Contains(e.Message, "conv1.0.weight: file [24, 3, 5, 5] F32, model [24, 3, 3, 3] Float32");
        StringAssert.Contains(e.Message, "conv1.1.num_batches_tracked: file [] F32, model [] Int64");
        Assert.HasCount(2, e.Mismatches);
        Assert.AreEqual(path, e.FilePath);
    }

    [TestMethod]
    public void PyTorchPicklesAreRefusedNotExecuted()
    {
        byte[] zip = [(byte)'P', (byte)'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0];
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("model.pt", zip)).Message, "zip archive");
        byte[] pickle = [0x80, 2, (byte)'}', (byte)'q', 0, (byte)'.'];
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("model.pth", pickle)).Message, "Python pickle");
        var safetensors = File.ReadAllBytes(_valid);
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("renamed.dat", safetensors)).Message, "give it the .safetensors extension");
    }

    [TestMethod]
    public void CorruptTorchSharpFiles()
    {
        static byte[] Dat(Action<BinaryWriter> write)
        {
            using var buffer = new MemoryStream();
            using (var writer = new BinaryWriter(buffer)) write(writer);
            return buffer.ToArray();
        }
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("count.dat", Dat(w => w.Write7BitEncodedInt64(1L << 40)))).Message,
            "claims 1,099,511,627,776 entries");
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("key.dat", Dat(w => { w.Write7BitEncodedInt64(1); w.Write7BitEncodedInt(1 << 30); }))).Message,
            "the name of entry 1 claims 1,073,741,824 bytes");
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("type.dat", Dat(w =>
            {
                w.Write7BitEncodedInt64(1);
                w.Write("fc.weight");
                w.Write7BitEncodedInt64(9); // ComplexFloat32
            }))).Message,
            "entry 'fc.weight': its element type code 9 is not supported");
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("dims.dat", Dat(w =>
            {
                w.Write7BitEncodedInt64(1);
                w.Write("fc.weight");
                w.Write7BitEncodedInt64(6); // Float32
                w.Write7BitEncodedInt64(2);
                w.Write7BitEncodedInt64(1L << 40);
                w.Write7BitEncodedInt64(1L << 40);
            }))).Message,
            "needs more bytes than the file has");
        var valid = File.ReadAllBytes(_validDat);
        StringAssert.Contains(LoadFails<InvalidDataException>(Write("tail.dat", [.. valid, 1, 2, 3])).Message, "3 byte(s) follow its last entry");
    }

    [TestMethod]
    public void MissingFile()
    {
        using var model = new ShuffleNetV2(ShuffleNetV2Size.X0_5, 5);
        var path = Path.Combine(_folder, "nowhere.safetensors");
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => ModelWeights.Load(model, path));
        StringAssert.Contains(e.Message, path);
    }
}

namespace Lightweight.ML.Tests.Sweep;

[TestClass]
public sealed class ModelNamesTests
{
    [TestMethod]
    [DataRow("shufflenetv2-0.5x", typeof(ShuffleNetV2Options), "ShuffleNetV2-0.5x")]
    [DataRow("ShuffleNetV2-2.0x", typeof(ShuffleNetV2Options), "ShuffleNetV2-2.0x")]
    [DataRow("ghostnet-1.3", typeof(GhostNetOptions), "GhostNet-1.3x")]
    [DataRow("GhostNet-0.5x", typeof(GhostNetOptions), "GhostNet-0.5x")]
    [DataRow("mobilenetv2-0.75", typeof(MobileNetV2Options), "MobileNetV2-0.75x")]
    [DataRow("shufflenetv1-g8-1.5x", typeof(ShuffleNetV1Options), "ShuffleNetV1-g8-1.5x")]
    public void NamesBuildTheNamedModel(string name, Type type, string modelName)
    {
        var options = ModelNames.CreateOptions(name);
        Assert.IsInstanceOfType(options, type);
        Assert.AreEqual(modelName, options.ModelName);
        Assert.AreEqual(options.ModelName, ModelNames.CreateOptions(ModelNames.Of(options)).ModelName, "Of() parses back to the same model");
    }

    [TestMethod]
    public void EveryStandardNameRoundTripsAndModelNameParsesBack()
    {
        foreach (var name in ModelNames.Standard)
        {
            var options = ModelNames.CreateOptions(name);
            Assert.AreEqual(name, ModelNames.Of(options));
            Assert.AreEqual(name, ModelNames.Of(ModelNames.CreateOptions(options.ModelName)), $"{options.ModelName} parses back");
        }
    }

    [TestMethod]
    [DataRow("resnet50")]
    [DataRow("shufflenetv2-0.7x")]
    [DataRow("shufflenetv2-1.0")]
    [DataRow("shufflenetv1-g5-1.0x")]
    [DataRow("shufflenetv1-1.0x")]
    [DataRow("ghostnet-0")]
    [DataRow("ghostnet-9")]
    [DataRow("mobilenetv2-g3-1.0")]
    [DataRow("")]
    public void BadNamesThrowNamingTheModelAndTheSyntax(string name)
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => ModelNames.CreateOptions(name));
        StringAssert.Contains(e.Message, $"'{name}'");
        Assert.AreEqual("name", e.ParamName);
    }
}

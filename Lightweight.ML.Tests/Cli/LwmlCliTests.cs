using Lightweight.ML.Cli;

namespace Lightweight.ML.Tests.Cli;

/// <summary>The <c>lwml</c> tool run in-process, end to end on small Fashion-MNIST folders.</summary>
[TestClass]
public sealed class LwmlCliTests
{
    private static readonly Lazy<(string Train, string Test)> Data = new(() =>
        (TestData.Subset("train", classes: 3, perClass: 30), TestData.Subset("test", classes: 3, perClass: 10)));

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = LwmlCli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static string TrainSmallModel(string dir)
    {
        var model = Path.Combine(dir, "model.zip");
        var (code, output, error) = Run("train", "--data", Data.Value.Train, "--model", "shufflenetv2-0.5x", "--epochs", "2",
            "--image-size", "16", "--batch-size", "8", "--lr", "0.05", "--out", model);
        Assert.AreEqual(ExitCodes.Ok, code, error);
        StringAssert.Contains(output, "epoch 2/2");
        StringAssert.Contains(output, $"Saved {model}");
        return model;
    }

    [TestMethod]
    public void TrainEvaluatePredictAndExportEndToEnd()
    {
        var dir = TestData.NewTempFolder();
        var model = TrainSmallModel(dir);
        string[] classes = Directory.GetDirectories(Data.Value.Test).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

        var evaluate = Run("evaluate", model, "--data", Data.Value.Test);
        Assert.AreEqual(ExitCodes.Ok, evaluate.Code, evaluate.Err);
        StringAssert.Contains(evaluate.Out, "accuracy (micro)");
        StringAssert.Contains(evaluate.Out, "Confusion table");
        foreach (var c in classes) StringAssert.Contains(evaluate.Out, c);

        var image = Directory.GetFiles(Path.Combine(Data.Value.Test, classes[0])).Order(StringComparer.Ordinal).First();
        var single = Run("predict", model, image, "--top", "2");
        Assert.AreEqual(ExitCodes.Ok, single.Code, single.Err);
        Assert.IsTrue(classes.Count(c => single.Out.Contains(c)) == 2, single.Out);

        var csvPath = Path.Combine(dir, "predictions.csv");
        var folder = Run("predict", model, Data.Value.Test, "--out", csvPath);
        Assert.AreEqual(ExitCodes.Ok, folder.Code, folder.Err);
        var lines = File.ReadAllLines(csvPath);
        Assert.AreEqual("path,class_1,probability_1,class_2,probability_2,class_3,probability_3", lines[0]);
        Assert.AreEqual(1 + 30, lines.Length);
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            double p1 = double.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture);
            double p2 = double.Parse(cells[4], System.Globalization.CultureInfo.InvariantCulture);
            double p3 = double.Parse(cells[6], System.Globalization.CultureInfo.InvariantCulture);
            Assert.IsTrue(p1 >= p2 && p2 >= p3 && Math.Abs(p1 + p2 + p3 - 1) < 1e-4, line);
            CollectionAssert.AreEquivalent(classes, new[] { cells[1], cells[3], cells[5] });
        }
        var stdout = Run("predict", model, Data.Value.Test);
        Assert.AreEqual(string.Join('\n', lines) + "\n", stdout.Out.ReplaceLineEndings("\n"), "without --out the CSV goes to standard output");

        var onnx = Path.Combine(dir, "model.onnx");
        var export = Run("export", model, "--onnx", onnx);
        Assert.AreEqual(ExitCodes.Ok, export.Code, export.Err);
        Assert.IsTrue(new FileInfo(onnx).Length > 100_000);
    }

    [TestMethod]
    public void BadUsageExitsWithTwoAndOnePlainLineNamingTheOptionOrPath()
    {
        var data = Data.Value.Train;
        var missing = Path.Combine(Path.GetTempPath(), "lwml-no-such-folder-" + Guid.NewGuid().ToString("N"));
        (string[] Args, string Expected)[] cases =
        [
            ([], "lwml"),
            (["train"], "--data"),
            (["train", "--data", data, "--bogus"], "--bogus"),
            (["train", "--data", data, "--model", "resnet50"], "--model"),
            (["train", "--data", missing], missing),
            (["train", "--data", data, "--epochs", "0"], "--epochs"),
            (["train", "--data", data, "--epochs", "many"], "many"),
            (["train", "--data", data, "--augmentation", "heavy"], "heavy"),
            (["predict", Path.Combine(missing, "model.zip"), data], "model.zip"),
            (["evaluate", Path.Combine(missing, "model.zip")], "--data"),
            (["sweep", "--data", data, "--budget", "soon"], "--budget"),
            (["sweep", "--data", data, "--models", "shufflenetv2-0.5x", "resnet50"], "resnet50"),
            (["export", Path.Combine(missing, "model.zip")], "--onnx"),
        ];
        foreach (var (args, expected) in cases)
        {
            var (code, _, error) = Run(args);
            string shown = string.Join(' ', args);
            Assert.AreEqual(ExitCodes.Usage, code, $"lwml {shown}: {error}");
            StringAssert.Contains(error, expected, $"lwml {shown}");
            Assert.IsFalse(error.Contains("   at "), $"no stack trace without --verbose: lwml {shown}: {error}");
        }
    }

    [TestMethod]
    public void FailuresExitWithOneNamingTheFileAndVerboseAddsTheStackTrace()
    {
        var data = TestData.Subset("train", classes: 2, perClass: 8);
        var broken = Path.Combine(data, Path.GetFileName(Directory.GetDirectories(data)[0]), "broken.png");
        File.WriteAllBytes(broken, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        string[] args = ["train", "--data", data, "--epochs", "1", "--image-size", "16", "--batch-size", "4", "--out", Path.Combine(TestData.NewTempFolder(), "m.zip")];

        var (code, _, error) = Run(args);
        Assert.AreEqual(ExitCodes.Failed, code, error);
        StringAssert.Contains(error, "broken.png");
        Assert.IsFalse(error.Contains("   at "), error);

        var verbose = Run([.. args, "--verbose"]);
        Assert.AreEqual(ExitCodes.Failed, verbose.Code);
        StringAssert.Contains(verbose.Err, "   at ");
    }

    [TestMethod]
    public void SweepWritesTheTrialsAndABestModelThatPredictsAndResumes()
    {
        var dir = TestData.NewTempFolder();
        string[] args = ["sweep", "--data", Data.Value.Train, "--models", "shufflenetv2-0.5x", "ghostnet-0.5", "--epochs", "1",
                         "--image-size", "16", "--batch-size", "8", "--lr", "0.05", "--budget", "10m", "--out", dir];
        var first = Run(args);
        Assert.AreEqual(ExitCodes.Ok, first.Code, first.Err);
        StringAssert.Contains(first.Out, "Best: trial");
        Assert.IsTrue(File.Exists(Path.Combine(dir, "trials.csv")) && File.Exists(Path.Combine(dir, "pareto.png")));
        var best = Path.Combine(dir, "best-model.zip");
        var image = Directory.GetFiles(Data.Value.Test, "*.png", SearchOption.AllDirectories).First();
        Assert.AreEqual(ExitCodes.Ok, Run("predict", best, image).Code);

        var second = Run(args);
        Assert.AreEqual(ExitCodes.Ok, second.Code, second.Err);
        Assert.IsFalse(second.Out.Contains("epoch 1/1"), "finished trials are not trained again:\n" + second.Out);
        Assert.AreEqual(3, File.ReadAllLines(Path.Combine(dir, "trials.csv")).Length, "header + two trials");
    }

    [TestMethod]
    public void HelpListsTheCommands()
    {
        var (code, output, _) = Run("--help");
        Assert.AreEqual(ExitCodes.Ok, code);
        foreach (var command in new[] { "train", "evaluate", "predict", "sweep", "export" }) StringAssert.Contains(output, command);
        var train = Run("train", "--help");
        StringAssert.Contains(train.Out, "--model");
        StringAssert.Contains(train.Out, ModelNames.Syntax);
    }

    [TestMethod]
    [DataRow("20m", 1200.0)]
    [DataRow("90s", 90.0)]
    [DataRow("1h30m", 5400.0)]
    [DataRow("0.5h", 1800.0)]
    [DataRow("00:02:00", 120.0)]
    public void DurationsParse(string text, double seconds)
        => Assert.AreEqual(seconds, CliShared.ParseDuration(text, "--budget").TotalSeconds);
}

using System.CommandLine;
using Microsoft.ML;

namespace Lightweight.ML.Cli;

/// <summary><c>lwml export &lt;model&gt; --onnx &lt;file&gt;</c>: the classifier as an ONNX model (input <c>pixels</c>, output <c>probabilities</c>).</summary>
internal static class ExportCommand
{
    public static Command Create(CliContext cli)
    {
        var modelFile = new Argument<FileInfo>("model") { Description = "Model file written by 'lwml train' or 'lwml sweep'" };
        var onnx = new Option<FileInfo>("--onnx") { Description = "ONNX file to write (opset 13; input 'pixels' 0-255 RGB NCHW, output 'probabilities')", Required = true };
        var command = new Command("export", "Export a saved model's network to ONNX") { modelFile, onnx };
        command.SetAction(parse =>
        {
            var target = parse.GetValue(onnx)!;
            if (target.Directory is { Exists: false } missing) throw new UsageException($"--onnx: folder '{missing.FullName}' does not exist.");
            var ml = new MLContext(seed: 1);
            var (_, classifier) = CliShared.LoadModel(ml, parse.GetValue(modelFile)!);
            using var _ = classifier;
            classifier.ExportToOnnx(target.FullName);
            cli.Output.WriteLine($"Exported {classifier.ModelName} ({classifier.ClassNames.Count} classes, {classifier.Preprocessing.ImageSize} px) to {target.FullName}");
            return ExitCodes.Ok;
        });
        return command;
    }
}

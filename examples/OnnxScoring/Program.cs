// OnnxScoring: score images with a model exported to ONNX, in a process without TorchSharp or Lightweight.ML — only
// ML.NET's LoadImages → ResizeImages → ExtractPixels → ApplyOnnxModel (ONNX Runtime). Make the ONNX file first:
//   dotnet run --project tools/lwml -c Release -- train --data examples/data/fashion-mnist-small/train --image-size 28 --out fm.zip
//   dotnet run --project tools/lwml -c Release -- export fm.zip --onnx fm.onnx
//   dotnet run --project examples/OnnxScoring -c Release -- fm.onnx [image folder, default: the shipped test images]
// The exported graph takes 'pixels' (float, N×C×H×W, RGB planes of 0–255 values, normalisation inside) and returns
// 'probabilities'; its metadata 'class_names' lists the classes in output order.
using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

if (args.Length < 1 || !File.Exists(args[0]))
{
    Console.Error.WriteLine("usage: OnnxScoring <model.onnx> [image folder]   (export one with 'lwml export <model.zip> --onnx <model.onnx>')");
    return 2;
}
string onnxPath = args[0];
string folder = args.Length > 1 ? args[1] : Path.Combine(AppContext.BaseDirectory, "data", "test");

// Input size and class names from the ONNX file itself.
string[] classNames;
int channels, height, width;
using (var session = new InferenceSession(onnxPath))
{
    var dims = session.InputMetadata["pixels"].Dimensions;       // [-1 (batch), C, H, W]
    (channels, height, width) = (dims[1], dims[2], dims[3]);
    classNames = JsonSerializer.Deserialize<string[]>(session.ModelMetadata.CustomMetadataMap["class_names"])!;
}

var ml = new MLContext(seed: 1);
var files = Directory.EnumerateFiles(folder, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
var images = ml.Data.LoadFromEnumerable(files.Select(f => new ImageRow { ImagePath = f }));
var pipeline = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
    .Append(ml.Transforms.ResizeImages("Image", width, height))
    // RGB planes of 0–255 values, what the graph expects; a grayscale (1-channel) model takes one plane, and for grey
    // images the red plane is the grey level (export with a luma input for colour images).
    .Append(ml.Transforms.ExtractPixels("pixels", "Image",
        colorsToExtract: channels == 1 ? Microsoft.ML.Transforms.Image.ImagePixelExtractingEstimator.ColorBits.Red
                                       : Microsoft.ML.Transforms.Image.ImagePixelExtractingEstimator.ColorBits.Rgb))
    .Append(ml.Transforms.ApplyOnnxModel("probabilities", "pixels", onnxPath));
var model = pipeline.Fit(images);

var clock = Stopwatch.StartNew();
var scored = model.Transform(images);
int correct = 0, row = 0;
using (var cursor = scored.GetRowCursor([scored.Schema["probabilities"]]))
{
    var getter = cursor.GetGetter<VBuffer<float>>(scored.Schema["probabilities"]);
    VBuffer<float> p = default;
    while (cursor.MoveNext())
    {
        getter(ref p);
        var values = p.GetValues();
        int best = 0;
        for (int c = 1; c < values.Length; c++) if (values[c] > values[best]) best = c;
        if (Path.GetFileName(Path.GetDirectoryName(files[row])) == classNames[best]) correct++;
        if (row < 3) Console.WriteLine($"{Path.GetRelativePath(folder, files[row])} → {classNames[best]} ({values[best]:P1})");
        row++;
    }
}
Console.WriteLine($"Scored {row} images with ONNX Runtime in {clock.Elapsed.TotalSeconds:F2} s; accuracy {(double)correct / row:P1} " +
                  "(images whose folder is the predicted class).");
bool torchLoaded = AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name is "TorchSharp" or "Lightweight.ML");
Console.WriteLine($"TorchSharp or Lightweight.ML loaded in this process: {(torchLoaded ? "yes" : "no")}");
return 0;

internal sealed class ImageRow
{
    public string ImagePath { get; set; } = "";
}

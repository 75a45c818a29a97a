// BatchScoring: score a whole folder of images through ML.NET's Transform (batched forwards) and write a CSV.
//   dotnet run --project examples/BatchScoring -c Release                         # trains a small model first (about 20 s)
//   dotnet run --project examples/BatchScoring -c Release -- model.zip <folder> out.csv
// A model.zip from `lwml train` or from SavePipeline (an image-path → LoadImages → classifier chain) works as the first argument.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Lightweight.ML;
using Microsoft.ML;
using Microsoft.ML.Data;

var dataRoot = Path.Combine(AppContext.BaseDirectory, "data");
var ml = new MLContext(seed: 1);
string folder = args.Length > 1 ? args[1] : Path.Combine(dataRoot, "test");
string csvPath = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "lightweight-ml-predictions.csv");

ITransformer model;
if (args.Length > 0)
{
    model = ml.Model.LoadPipeline(args[0], out _);
}
else
{
    Console.WriteLine("No model given: training ShuffleNetV2 0.5x on examples/data for 4 epochs...");
    var train = ml.Data.LoadImagesFromFolder(Path.Combine(dataRoot, "train"));
    var trainer = ml.MulticlassClassification.Trainers.ShuffleNetV2(new ShuffleNetV2Options
    {
        ModelSize = ShuffleNetV2Size.X0_5, ImageSize = 28, Epochs = 4, BatchSize = 64, LearningRate = 0.2, WarmupEpochs = 1,
    });
    var fitted = ml.Transforms.Conversion.MapValueToKey("Label")
        .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
        .Append(trainer)
        .Fit(train);
    // Keep only what scoring needs: image loading and the classifier (no label column at prediction time).
    model = new TransformerChain<ITransformer>(fitted.Skip(1).ToArray());
}

// Every image under the folder (sub-folders included); the folder name is only used to report accuracy when it is a class.
var files = Directory.EnumerateFiles(folder, "*.*", SearchOption.AllDirectories)
    .Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase))
    .Order(StringComparer.Ordinal).ToList();
var input = ml.Data.LoadFromEnumerable(files.Select(f => new ImageInput { ImagePath = f }));

var clock = Stopwatch.StartNew();
IDataView scored = model.Transform(input);                     // lazy: the cursor below drives batched forwards
VBuffer<ReadOnlyMemory<char>> classNames = default;
scored.Schema["Score"].Annotations.GetValue("SlotNames", ref classNames);
var names = classNames.DenseValues().Select(n => n.ToString()).ToArray();

var csv = new StringBuilder("path,predicted,probability\n");
int correct = 0, rows = 0;
using (var cursor = scored.GetRowCursor([scored.Schema["ImagePath"], scored.Schema["Score"]]))
{
    var path = cursor.GetGetter<ReadOnlyMemory<char>>(scored.Schema["ImagePath"]);
    var score = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
    ReadOnlyMemory<char> p = default;
    VBuffer<float> s = default;
    while (cursor.MoveNext())
    {
        path(ref p);
        score(ref s);
        var values = s.GetValues();
        int best = 0;
        for (int c = 1; c < values.Length; c++) if (values[c] > values[best]) best = c;
        string file = p.ToString();
        csv.Append(CultureInfo.InvariantCulture, $"{Path.GetRelativePath(folder, file)},{names[best]},{values[best]:F4}\n");
        if (Path.GetFileName(Path.GetDirectoryName(file)) == names[best]) correct++;
        rows++;
    }
}
double seconds = clock.Elapsed.TotalSeconds;
File.WriteAllText(csvPath, csv.ToString());
Console.WriteLine($"Scored {rows} images in {seconds:F2} s ({rows / seconds:F0} images/s, decoding included) → {csvPath}");
Console.WriteLine($"Images whose folder name is the predicted class: {correct} of {rows} ({(double)correct / rows:P1}).");
foreach (var d in ((IEnumerable<ITransformer>)model).OfType<IDisposable>()) d.Dispose();

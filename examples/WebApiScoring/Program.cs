// WebApiScoring: an ASP.NET Core endpoint that classifies uploaded images with a thread-safe PredictionEnginePool,
// exercised by concurrent HTTP clients.
//   dotnet run --project examples/WebApiScoring -c Release                      # demo: train a small model, serve on a
//                                                                                # free port, send 500 requests 16 at a time, exit
//   dotnet run --project examples/WebApiScoring -c Release -- --serve [model.zip] # serve http://localhost:5000 until Ctrl+C:
//       curl --data-binary @examples/data/fashion-mnist-small/test/Sneaker/0001.png http://localhost:5000/predict
// model.zip: from `lwml train` or SavePipeline of an ImagePath → LoadImages → classifier chain.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using Lightweight.ML;
using Microsoft.ML;
using Microsoft.ML.Data;

var dataRoot = Path.Combine(AppContext.BaseDirectory, "data");
bool serve = args.Contains("--serve");
string? modelPath = args.FirstOrDefault(a => a.EndsWith(".zip", StringComparison.OrdinalIgnoreCase));
var ml = new MLContext(seed: 1);
ITransformer model = modelPath is not null ? ml.Model.LoadPipeline(modelPath, out _) : TrainSmallModel(ml, dataRoot);
using var pool = ml.Model.CreatePredictionEnginePool<ImageInput, ScoreOnly>(model);
var classNames = ((IEnumerable<ITransformer>)model).OfType<ImageClassificationTransformer>().Single().ClassNames;

var builder = WebApplication.CreateBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.UseUrls(serve ? "http://localhost:5000" : "http://127.0.0.1:0");
var app = builder.Build();

// POST /predict with the image file as the body → { "label": "...", "probability": 0.97, "top3": [...] }.
app.MapPost("/predict", async (HttpRequest request) =>
{
    // The model's pipeline starts with LoadImages(ImagePath): hand it the upload as a temporary file.
    var path = Path.Combine(Path.GetTempPath(), $"lwml-upload-{Guid.NewGuid():N}.img");
    try
    {
        await using (var file = File.Create(path)) await request.Body.CopyToAsync(file);
        ScoreOnly p = pool.Predict(new ImageInput { ImagePath = path });
        var top3 = p.Score.Select((s, i) => new ClassScore(classNames[i], s)).OrderByDescending(c => c.Probability).Take(3).ToArray();
        return Results.Ok(new PredictResponse(top3[0].Label, top3[0].Probability, top3));
    }
    catch (Exception e) when (e is InvalidOperationException or InvalidDataException or ArgumentException) // not a decodable image
    {
        return Results.BadRequest(new { error = e.Message.Replace(path, "the uploaded file") });
    }
    finally
    {
        File.Delete(path);
    }
});

if (serve)
{
    Console.WriteLine("Serving POST http://localhost:5000/predict (Ctrl+C to stop)");
    app.Run();
    return;
}

await app.StartAsync();
var address = app.Urls.First();
var files = Directory.GetFiles(Path.Combine(dataRoot, "test"), "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
using var http = new HttpClient { BaseAddress = new Uri(address) };
var latencies = new ConcurrentBag<double>();
int correct = 0;
var clock = Stopwatch.StartNew();
await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (file, ct) =>
{
    var started = Stopwatch.StartNew();
    using var response = await http.PostAsync("/predict", new ByteArrayContent(await File.ReadAllBytesAsync(file, ct)), ct);
    response.EnsureSuccessStatusCode();
    var result = (await response.Content.ReadFromJsonAsync<PredictResponse>(ct))!;
    latencies.Add(started.Elapsed.TotalMilliseconds);
    if (result.Label == Path.GetFileName(Path.GetDirectoryName(file))) Interlocked.Increment(ref correct);
});
var sorted = latencies.Order().ToArray();
Console.WriteLine($"{files.Length} requests, 16 concurrent, in {clock.Elapsed.TotalSeconds:F1} s ({files.Length / clock.Elapsed.TotalSeconds:F0} requests/s); " +
                  $"latency p50 {sorted[sorted.Length / 2]:F1} ms, p99 {sorted[(int)(sorted.Length * 0.99)]:F1} ms; accuracy {(double)correct / files.Length:P1}");
using var bad = await http.PostAsync("/predict", new ByteArrayContent("not an image"u8.ToArray()));
Console.WriteLine($"A non-image upload gets HTTP {(int)bad.StatusCode}: {await bad.Content.ReadAsStringAsync()}");
await app.StopAsync();
foreach (var d in ((IEnumerable<ITransformer>)model).OfType<IDisposable>()) d.Dispose();

static ITransformer TrainSmallModel(MLContext ml, string dataRoot)
{
    Console.WriteLine("Training ShuffleNetV2 0.5x on examples/data for 4 epochs...");
    var train = ml.Data.LoadImagesFromFolder(Path.Combine(dataRoot, "train"));
    var fitted = ml.Transforms.Conversion.MapValueToKey("Label")
        .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
        .Append(ml.MulticlassClassification.Trainers.ShuffleNetV2(new ShuffleNetV2Options
        {
            ModelSize = ShuffleNetV2Size.X0_5, ImageSize = 28, Epochs = 4, BatchSize = 64, LearningRate = 0.2, WarmupEpochs = 1,
        }))
        .Fit(train);
    // Serve without the label mapping at the front: requests carry an image, not a label.
    return new TransformerChain<ITransformer>(fitted.Skip(1).ToArray());
}

/// <summary>The pool's output: only the probabilities (PredictedLabel is a key or a string depending on the pipeline).</summary>
internal sealed class ScoreOnly
{
    public float[] Score { get; set; } = [];
}

internal sealed record ClassScore(string Label, float Probability);

internal sealed record PredictResponse(string Label, float Probability, ClassScore[] Top3);

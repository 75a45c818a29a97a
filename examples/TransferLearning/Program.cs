// TransferLearning: pretrain on some classes, save the weights as safetensors, then fine-tune on new classes with few
// images each, and compare with training the same network from scratch on those few images.
//   dotnet run --project examples/TransferLearning -c Release
// Pretrained weights from PyTorch (torchvision/timm state_dict saved with safetensors) load the same way, by key name.
using Lightweight.ML;
using Lightweight.ML.Data;
using Microsoft.ML;

var dataRoot = Path.Combine(AppContext.BaseDirectory, "data");
var ml = new MLContext(seed: 1);
var all = ImageFolder.List(Path.Combine(dataRoot, "train"));
var allTest = ImageFolder.List(Path.Combine(dataRoot, "test"));
string[] oldClasses = ["Ankle_boot", "Bag", "Coat", "Dress", "Pullover"];   // pretraining task
const int ShotsPerClass = 20;                                                 // the new task has 20 images per class

IDataView View(IEnumerable<ImageInput> rows) => ml.Data.LoadFromEnumerable(rows.ToList());
var pretrainData = View(all.Where(r => oldClasses.Contains(r.Label)));
var fewShot = View(all.Where(r => !oldClasses.Contains(r.Label)).GroupBy(r => r.Label).SelectMany(g => g.Take(ShotsPerClass)));
var newTest = View(allTest.Where(r => !oldClasses.Contains(r.Label)));

ShuffleNetV2Options Options(int epochs) => new()
{
    ModelSize = ShuffleNetV2Size.X0_5, ImageSize = 28, Epochs = epochs, BatchSize = 32, LearningRate = 0.1, WarmupEpochs = 1, Seed = 1,
    Augmentation = new AugmentationOptions { RandomResizedCrop = false, RandomCropPadding = 2, HorizontalFlipProbability = 0.5 },
};
IEstimator<ITransformer> Pipeline(ShuffleNetV2Options o) => ml.Transforms.Conversion.MapValueToKey("Label")
    .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
    .Append(ml.MulticlassClassification.Trainers.ShuffleNetV2(o));
double TestAccuracy(ITransformer model) => ml.MulticlassClassification.Evaluate(model.Transform(newTest)).MicroAccuracy;
ImageClassificationTransformer Classifier(ITransformer chain) => ((IEnumerable<ITransformer>)chain).OfType<ImageClassificationTransformer>().Single();

// 1. Pretrain on 5 classes (1,000 images) and save the network's weights (torchvision key names).
Console.WriteLine($"Pretraining on {string.Join(", ", oldClasses)} ({pretrainData.GetRowCount()} images)...");
var pretrained = Pipeline(Options(epochs: 10)).Fit(pretrainData);
var weights = Path.Combine(Path.GetTempPath(), "lightweight-ml-pretrained.safetensors");
ModelWeights.Save(Classifier(pretrained).Model, weights);
Classifier(pretrained).Dispose();
Console.WriteLine($"Saved {weights}");

// 2. Fine-tune on the other 5 classes with 20 images each: the classifier is re-initialised for the new classes; the
//    backbone is frozen for the first 3 epochs (only the new classifier learns), then everything trains.
var fineTuneOptions = Options(epochs: 12);
fineTuneOptions.PretrainedWeights = weights;
fineTuneOptions.FreezeBackboneEpochs = 3;
var fineTuned = Pipeline(fineTuneOptions).Fit(fewShot);
double fineTunedAccuracy = TestAccuracy(fineTuned);

// 3. The same network and schedule from random weights.
var scratch = Pipeline(Options(epochs: 12)).Fit(fewShot);
double scratchAccuracy = TestAccuracy(scratch);

Console.WriteLine($"New classes, {ShotsPerClass} training images each, tested on {newTest.GetRowCount()} images:");
Console.WriteLine($"  fine-tuned from the pretrained weights: {fineTunedAccuracy:P1}");
Console.WriteLine($"  trained from scratch:                   {scratchAccuracy:P1}");
Classifier(fineTuned).Dispose();
Classifier(scratch).Dispose();

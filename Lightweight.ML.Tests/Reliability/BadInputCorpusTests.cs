using System.Diagnostics;
using Lightweight.ML.Data;
using Lightweight.ML.Models;
using Lightweight.ML.Tests.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lightweight.ML.Tests.Reliability;

/// <summary>
/// The bad-input corpus: one row per damaged, forged, oddly named or misconfigured input, each written into a fresh
/// temporary folder at test time. Every row either works (odd but valid input) or fails with one specific .NET
/// exception whose message names the file, option or column at fault — within a time limit, and without raising the
/// process's peak memory by a gigabyte. Training runs ShuffleNetV2 0.5× at 16 px, 1 epoch, batches of 4.
/// Single-purpose cases live beside the code they test: images and options in <c>MLNet/BadInputTests</c> and
/// <c>Data/ImageFolderTests</c>, weights files in <c>Export/WeightsFileCorruptionTests</c>, pipeline files in
/// <c>Export/PipelineFileTests</c>, checkpoints in <c>Training/CheckpointTests</c>; the rows here do not repeat them.
/// </summary>
[TestClass]
public sealed class BadInputCorpusTests
{
    private const string Bag = "Bag", Boot = "Ankle_boot";
    private static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(60);
    private const long PeakMemoryAllowance = 1L << 30;

    /// <summary>A model fitted once on <see cref="Folder"/> data, for the scoring rows.</summary>
    private static ITransformer _model = null!;

    [ClassInitialize]
    public static void FitOnce(TestContext _)
    {
        var ml = new MLContext(seed: 1);
        _model = Pipelines.Build(ml, ml.MulticlassClassification.Trainers.ShuffleNetV2(Small())).Fit(ml.Data.LoadImagesFromFolder(Folder()));
    }

    [ClassCleanup]
    public static void DisposeModel() => Pipelines.Dispose(_model);

    public static IEnumerable<object[]> CaseNames => Corpus.Select(c => new object[] { c.Name });

    [TestMethod]
    [DynamicData(nameof(CaseNames))]
    public void FailsSpecificallyOrWorks(string name)
    {
        var trial = Corpus.Single(c => c.Name == name).Arrange();
        long peakBefore = PeakWorkingSet();
        var run = Task.Run(trial.Act);
        Assert.IsTrue(((IAsyncResult)run).AsyncWaitHandle.WaitOne(TimeLimit), $"{name}: no result after {TimeLimit.TotalSeconds} s (hang?)");
        var error = run.Exception?.InnerException;
        if (trial.Throws is null)
            Assert.IsNull(error, $"{name}: should work but threw {error}");
        else
        {
            Assert.IsNotNull(error, $"{name}: should throw {trial.Throws.Name} but worked");
            Assert.AreEqual(trial.Throws, error.GetType(), $"{name}: {error}");
            foreach (var part in trial.MessageParts)
                StringAssert.Contains(error.Message, part, $"{name}: the message should contain '{part}'");
            if (trial.ParamName is not null) Assert.AreEqual(trial.ParamName, ((ArgumentException)error).ParamName, error.Message);
        }
        long growth = PeakWorkingSet() - peakBefore;
        Assert.IsLessThan(PeakMemoryAllowance, growth, $"{name}: the peak working set grew by {growth >> 20} MB");
    }

    [TestMethod]
    public void TheCorpusHasAtLeastThirtyCasesWithDistinctNames()
    {
        Assert.IsGreaterThanOrEqualTo(30, Corpus.Length);
        Assert.HasCount(Corpus.Length, Corpus.Select(c => c.Name).Distinct());
    }

    // ---- the corpus ----

    private sealed record Case(string Name, Func<Trial> Arrange);

    /// <summary>What to run and how it must end: <see cref="Throws"/> null means it must work (and the action asserts).</summary>
    private sealed record Trial(Action Act, Type? Throws, string[] MessageParts, string? ParamName = null)
    {
        public static Trial Works(Action act) => new(act, null, []);
        public static Trial Fails<T>(Action act, params string[] parts) where T : Exception => new(act, typeof(T), parts);
        public Trial Naming(string option) => this with { ParamName = option };
    }

    private static readonly Case[] Corpus =
    [
        // Damaged image files in the training folder.
        new("zero-byte PNG", () => BadImage("empty.png", [], "empty (0 bytes)")),
        new("PNG cut after its header", () => BadImage("cut.png", RealPng()[..40], "is truncated")),
        new("PNG cut in the middle of its image data", () => BadImage("half.png", RealPng()[..(RealPng().Length / 2)], "no IEND chunk")),
        new("PNG with a flipped byte in its compressed data", () => BadImage("flipped.png", Flip(RealPng(), RealPng().Length / 2), "could not be decoded")),
        new("text file named .png", () => BadImage("notes.png", "this is not an image"u8.ToArray(), "could not be decoded")),
        new("random bytes named .jpg", () => BadImage("noise.jpg", RandomBytes(3000), "could not be decoded")),
        new("JPEG cut in half", () => BadImage("half.jpg", NoiseJpeg()[..(NoiseJpeg().Length / 2)], "no end-of-image marker")),
        new("BMP cut in half", () => BadImage("half.bmp", SyntheticImages.Bmp(20, 20, 9, 9, 9)[..700], "is truncated: its pixel data needs 1,254 bytes")),
        new("PNG with bytes after IEND", () => GoodImage("appended.png", [.. RealPng(), .. RandomBytes(5000)])),
        new("WebP cut in half", () => BadImage("half.webp", NoiseWebP()[..(NoiseWebP().Length / 2)], "is truncated: its RIFF header says")),

        // Forged sizes: rejected from the header, before a decoder allocates width × height × 4 bytes.
        new("PNG header claiming 100000 x 100000 pixels", () => BadImage("huge.png", SyntheticImages.PngWithForgedSize(100_000, 100_000),
            "claims 100,000 × 100,000 pixels", "178,956,970-pixel limit")),
        new("PNG header claiming 2^31-1 x 1 pixels", () => BadImage("wide.png", SyntheticImages.PngWithForgedSize(int.MaxValue, 1),
            "claims 2,147,483,647 × 1 pixels")),
        new("JPEG frame header claiming 65535 x 65535 pixels", () => BadImage("huge.jpg",
            SyntheticImages.WithJpegFrameSize(SyntheticImages.CmykJpeg(16, 16, 0, 0, 0, 0), 65535, 65535), "is a JPEG whose header claims 65,535 × 65,535")),
        new("GIF screen claiming 65535 x 65535 pixels", () => BadImage("huge.gif", ForgedGif(), "is a GIF whose header claims 65,535 × 65,535")),
        new("BMP header claiming 100000 x -100000 pixels (top-down)", () => BadImage("huge.bmp",
            SyntheticImages.Bmp(2, 2, 1, 2, 3, headerWidth: 100_000, headerHeight: -100_000), "is a BMP whose header claims 100,000 × 100,000")),

        // Odd but valid images: decoded and trained on.
        new("PNG named .jpg", () => GoodImage("png.jpg", RealPng())),
        new("JPEG named .png", () => GoodImage("jpeg.png", NoiseJpeg())),
        new("BMP named .webp", () => GoodImage("bmp.webp", SyntheticImages.Bmp(5, 3, 200, 10, 10))),
        new("JPEG with bytes after its end marker", () => GoodImage("trailer.jpg", [.. NoiseJpeg(), .. new byte[10_000]])),
        new("16-bit RGB PNG", () => GoodImage("deep.png", SyntheticImages.Png16(10, 7, 200, 100, 50))),
        new("16-bit grey + alpha PNG", () => GoodImage("deep-alpha.png",
            SyntheticImages.Png(3, 3, 16, SyntheticImages.GrayAlpha, Enumerable.Repeat((byte)0x80, 36).ToArray()))),
        new("2-bit palette PNG", () => GoodImage("palette.png", SyntheticImages.Png(4, 2, 2, SyntheticImages.Palette,
            [0b00011011, 0b11100100], palette: [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]))),
        new("CMYK JPEG (Adobe APP14)", () => GoodImage("cmyk.jpg", SyntheticImages.CmykJpeg(16, 16, 10, 200, 30, 60))),
        new("1 x 1 pixel PNG", () => GoodImage("dot.png", SyntheticImages.Png(1, 1, 8, SyntheticImages.Rgb, [9, 99, 199]))),
        new("1 x 300 pixel strip", () => GoodImage("strip.png", SyntheticImages.Png(300, 1, 8, SyntheticImages.Gray, RandomBytes(300)))),
        new("animated GIF scores as its first frame", AnimatedGifScoresAsItsFirstFrame),
        new("unicode class and file names", UnicodeNamesWork),

        // Folders.
        new("image deleted after the folder was listed", DeletedAfterListing),
        new("root holding only hidden folders", () =>
        {
            var root = TestData.NewTempFolder();
            foreach (var hidden in new[] { ".git", ".cache" }) TestData.WritePng(Path.Combine(root, hidden, "x.png"), 4, 4, 1, 2, 3);
            return Trial.Fails<InvalidDataException>(() => new MLContext().Data.LoadImagesFromFolder(root), root, "no class subfolders");
        }),
        new("class folder holding only a hidden image and a subfolder of text", () =>
        {
            var root = Folder();
            var empty = Path.Combine(root, "Coat");
            TestData.WritePng(Path.Combine(empty, ".thumb.png"), 4, 4, 1, 2, 3);
            Directory.CreateDirectory(Path.Combine(empty, "notes"));
            File.WriteAllText(Path.Combine(empty, "notes", "a.txt"), "text");
            return Trial.Fails<InvalidDataException>(() => new MLContext().Data.LoadImagesFromFolder(root), empty, "holds no image files");
        }),
        new("single class", () =>
        {
            var root = TestData.Subset("train", classes: 1, perClass: 4);
            return Trial.Fails<ArgumentException>(() => Fit(root), "1 class(es)", "at least 2");
        }),
        new("row with an empty image path", () =>
        {
            var rows = ImageFolder.List(Folder()).Append(new ImageInput { ImagePath = "", Label = Bag });
            return Trial.Fails<InvalidDataException>(() => Fit(new MLContext().Data.LoadFromEnumerable(rows)), "row 8", "column 'Image'");
        }),

        // Settings that would produce NaN.
        new("LearningRate 1e30 with AdamW", () => Diverges(o => { o.Optimizer = ImageClassifierOptimizer.AdamW; o.LearningRate = 1e30; })),
        new("WeightDecay 1e30", () => Diverges(o => { o.WeightDecay = 1e30; o.Epochs = 2; })),
        new("LearningRate NaN", () => BadOption<ArgumentOutOfRangeException>(o => o.LearningRate = double.NaN, "LearningRate")),
        new("Mean holding NaN", () => BadOption<ArgumentOutOfRangeException>(o => o.Mean = [0.5f, float.NaN, 0.5f], "Mean")),
        new("Std holding infinity", () => BadOption<ArgumentOutOfRangeException>(o => o.Std = [0.2f, float.PositiveInfinity, 0.2f], "Std")),
        new("GradientClipNorm NaN", () => BadOption<ArgumentOutOfRangeException>(o => o.GradientClipNorm = double.NaN, "GradientClipNorm")),

        // Columns.
        new("label column of type float", () =>
        {
            var ml = new MLContext(seed: 1);
            var rows = ImageFolder.List(Folder()).Select(r => new FloatLabelRow { ImagePath = r.ImagePath, Label = r.Label == Bag ? 1 : 0 });
            var pipeline = ml.Transforms.LoadImages("Image", null, "ImagePath").Append(ml.MulticlassClassification.Trainers.ShuffleNetV2(Small()));
            return Trial.Fails<ArgumentException>(() => pipeline.Fit(ml.Data.LoadFromEnumerable(rows)), "'Label'", "Single", "MapValueToKey(\"Label\")");
        }),
        new("image column that holds the path text", () =>
        {
            var options = Small();
            options.ImageColumnName = "ImagePath";
            return Trial.Fails<ArgumentException>(() => Fit(Folder(), options), "'ImagePath'", "must be an Image", "String");
        }),
        new("Score column named like PredictedLabel", () => BadOption<ArgumentException>(o => o.ScoreColumnName = "PredictedLabel", "PredictedLabelColumnName")),
        new("Score column named like the label column", () => BadOption<ArgumentException>(o => o.ScoreColumnName = "Label", "ScoreColumnName", "'Label'")),
        new("PredictedLabel column named like the image column", () => BadOption<ArgumentException>(o => o.PredictedLabelColumnName = "Image", "PredictedLabelColumnName", "'Image'")),
        new("validation set without a label column", () =>
        {
            var ml = new MLContext(seed: 1);
            var options = Small();
            options.ValidationSet = ml.Data.LoadFromEnumerable(ImageFolder.List(Folder()).Select(r => new PathRow { ImagePath = r.ImagePath }));
            return Trial.Fails<ArgumentException>(() => Fit(Folder(), options), "validation data has no label column 'Label'");
        }),
        new("validation set without an image or path column", () =>
        {
            var ml = new MLContext(seed: 1);
            var options = Small();
            options.ValidationSet = ml.Data.LoadFromEnumerable(ImageFolder.List(Folder()).Select(r => new LabelRow { Label = r.Label }));
            return Trial.Fails<ArgumentException>(() => Fit(Folder(), options), "Neither an image column 'Image' nor a text path column 'ImagePath'");
        }),
        new("transformed validation set with three classes for a two-class model", () =>
        {
            var ml = new MLContext(seed: 1);
            var three = TestData.Subset("test", classes: 3, perClass: 2);
            var options = Small();
            var data = ml.Data.LoadImagesFromFolder(three);
            options.ValidationSet = ml.Transforms.Conversion.MapValueToKey("Label")
                .Append(ml.Transforms.LoadImages("Image", null, "ImagePath")).Fit(data).Transform(data);
            return Trial.Fails<ArgumentException>(() => Fit(Folder(), options), "validation label column 'Label' has 3 keys but the model has 2 classes");
        }),

        // Weights, checkpoints and output folders.
        new("PretrainedWeights pointing at a directory", () =>
        {
            var directory = TestData.NewTempFolder();
            return BadOption<ArgumentException>(o => o.PretrainedWeights = directory, "PretrainedWeights", directory, "is a directory");
        }),
        new("PretrainedWeights of random bytes (.dat)", () =>
        {
            var path = Path.Combine(TestData.NewTempFolder(), "weights.dat");
            File.WriteAllBytes(path, RandomBytes(5000));
            var options = Small();
            options.PretrainedWeights = path;
            return Trial.Fails<ArgumentException>(() => Fit(Folder(), options), path, "not a valid TorchSharp weights file").Naming("PretrainedWeights");
        }),
        new("PretrainedWeights of a PyTorch pickle (.pt)", () =>
        {
            var path = Path.Combine(TestData.NewTempFolder(), "model.pt");
            File.WriteAllBytes(path, [0x80, 2, (byte)'}', (byte)'q', 0, (byte)'.']);
            var options = Small();
            options.PretrainedWeights = path;
            return Trial.Fails<ArgumentException>(() => Fit(Folder(), options), path, "Python pickle").Naming("PretrainedWeights");
        }),
        new("ModelWeights.Load from a directory", () =>
        {
            var directory = TestData.NewTempFolder();
            return Trial.Fails<FileNotFoundException>(() =>
            {
                using var model = new ShuffleNetV2(ShuffleNetV2Size.X0_5, 2);
                ModelWeights.Load(model, directory);
            }, directory, "is a directory");
        }),
        new("Resume from a checkpoint of random bytes after a valid magic", () => ResumeFrom(last =>
            File.WriteAllBytes(last, [.. "LWMLCKPT"u8, 1, 0, 0, 0, .. RandomBytes(4000)]), "has a corrupt header length")),
        new("Resume from a zero-byte checkpoint", () => ResumeFrom(last => File.WriteAllBytes(last, []), "is not a Lightweight.ML checkpoint")),
        new("last.ckpt that is a directory", () =>
        {
            var output = TestData.NewTempFolder();
            var last = Directory.CreateDirectory(Path.Combine(output, "checkpoints", "last.ckpt")).FullName;
            return BadOption<ArgumentException>(o => (o.OutputDirectory, o.Resume) = (output, true), "OutputDirectory", last, "where the checkpoint file goes");
        }),
        new("OutputDirectory that is a file", () =>
        {
            var file = Path.Combine(TestData.NewTempFolder(), "report.txt");
            File.WriteAllText(file, "not a folder");
            return BadOption<ArgumentException>(o => o.OutputDirectory = file, "OutputDirectory", file, "is a file");
        }),
        new("OutputDirectory whose checkpoints folder is a file", () =>
        {
            var output = TestData.NewTempFolder();
            File.WriteAllText(Path.Combine(output, "checkpoints"), "not a folder");
            return BadOption<ArgumentException>(o => o.OutputDirectory = output, "OutputDirectory", output, "holds a file named 'checkpoints'");
        }),
        new("LoadPipeline from a directory", () =>
        {
            var directory = TestData.NewTempFolder();
            return Trial.Fails<FileNotFoundException>(() => new MLContext().Model.LoadPipeline(directory, out _), directory, "is a directory");
        }),

        // Scoring a fitted model.
        new("PredictionEngine on a truncated PNG", () =>
        {
            var path = Write(TestData.NewTempFolder(), "half.png", RealPng()[..(RealPng().Length / 2)]);
            return Trial.Fails<InvalidDataException>(() => Predict(path), path, "is truncated");
        }),
        new("PredictionEngine on a missing file", () =>
        {
            var path = Path.Combine(TestData.NewTempFolder(), "missing.png");
            return Trial.Fails<InvalidDataException>(() => Predict(path), path, "does not exist");
        }),
        new("batch scoring a folder holding a forged-size PNG", () =>
        {
            var root = Folder();
            var path = Write(Path.Combine(root, Boot), "huge.png", SyntheticImages.PngWithForgedSize(100_000, 100_000));
            return Trial.Fails<InvalidDataException>(() => Pipelines.Scores(_model.Transform(new MLContext().Data.LoadImagesFromFolder(root))),
                path, "pixel limit");
        }),
    ];

    // ---- arrangements ----

    /// <summary>A fresh copy of two classes of four real 28×28 Fashion-MNIST PNGs.</summary>
    private static string Folder() => TestData.Subset("train", classes: 2, perClass: 4);

    private static ShuffleNetV2Options Small() => new()
    {
        ModelSize = ShuffleNetV2Size.X0_5, ImageSize = 16, Epochs = 1, BatchSize = 4, Seed = 7,
    };

    private static ITransformer Fit(string root, ShuffleNetV2Options? options = null)
        => Fit(new MLContext(seed: 1).Data.LoadImagesFromFolder(root), options);

    private static ITransformer Fit(IDataView data, ShuffleNetV2Options? options = null)
    {
        var ml = new MLContext(seed: 1);
        return Pipelines.Build(ml, ml.MulticlassClassification.Trainers.ShuffleNetV2(options ?? Small())).Fit(data);
    }

    /// <summary>Fits on the folder and scores it: every row gets finite probabilities summing to 1.</summary>
    private static List<float[]> FitAndScore(string root)
    {
        var model = Fit(root);
        try
        {
            var scores = Pipelines.Scores(model.Transform(new MLContext().Data.LoadImagesFromFolder(root)));
            Assert.HasCount(ImageFolder.List(root).Count, scores);
            Assert.IsTrue(scores.All(s => s.Length == 2 && s.All(float.IsFinite) && Math.Abs(s.Sum() - 1) < 1e-4), "scores are probabilities");
            return scores;
        }
        finally
        {
            Pipelines.Dispose(model);
        }
    }

    private static string Write(string folder, string name, byte[] bytes)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Training on a folder holding this file fails with an <see cref="InvalidDataException"/> naming it.</summary>
    private static Trial BadImage(string name, byte[] bytes, params string[] parts)
    {
        var root = Folder();
        var path = Write(Path.Combine(root, Bag), name, bytes);
        return Trial.Fails<InvalidDataException>(() => Fit(root), [path, .. parts]);
    }

    /// <summary>Training on a folder holding this file works, and the file is scored.</summary>
    private static Trial GoodImage(string name, byte[] bytes)
    {
        var root = Folder();
        Write(Path.Combine(root, Bag), name, bytes);
        return Trial.Works(() => FitAndScore(root));
    }

    /// <summary>The trainer rejects the options, at construction or at Fit, with a <typeparamref name="T"/> naming the option.</summary>
    private static Trial BadOption<T>(Action<ShuffleNetV2Options> configure, string option, params string[] parts) where T : ArgumentException
    {
        var options = Small();
        configure(options);
        return Trial.Fails<T>(() => Fit(Folder(), options), parts).Naming(option);
    }

    private static Trial Diverges(Action<ShuffleNetV2Options> configure)
    {
        var options = Small();
        configure(options);
        return Trial.Fails<TrainingDivergedException>(() => Fit(Folder(), options), "epoch", "Lower LearningRate");
    }

    /// <summary>Resume = true in an OutputDirectory whose last.ckpt was replaced by <paramref name="damage"/>.</summary>
    private static Trial ResumeFrom(Action<string> damage, string part)
    {
        var output = TestData.NewTempFolder();
        var last = Path.Combine(output, "checkpoints", "last.ckpt");
        Directory.CreateDirectory(Path.GetDirectoryName(last)!);
        damage(last);
        var options = Small();
        options.OutputDirectory = output;
        options.Resume = true;
        return Trial.Fails<InvalidDataException>(() => Fit(Folder(), options), last, part);
    }

    private static Trial DeletedAfterListing()
    {
        var root = Folder();
        var data = new MLContext().Data.LoadImagesFromFolder(root);
        var victim = Directory.GetFiles(Path.Combine(root, Bag)).Order(StringComparer.Ordinal).Last();
        File.Delete(victim);
        return Trial.Fails<InvalidDataException>(() => Fit(data), victim, "does not exist");
    }

    /// <summary>An animated GIF (red, then blue) gets the scores of a still red GIF: the first frame is used.</summary>
    private static Trial AnimatedGifScoresAsItsFirstFrame()
    {
        var root = Folder();
        var bag = Path.Combine(root, Bag);
        Write(bag, "a-animated.gif", SyntheticImages.AnimatedGif(6, 4, (255, 0, 0), (0, 0, 255)));
        Write(bag, "b-red.gif", SyntheticImages.AnimatedGif(6, 4, (255, 0, 0)));
        Write(bag, "c-blue.gif", SyntheticImages.AnimatedGif(6, 4, (0, 0, 255)));
        return Trial.Works(() =>
        {
            var scores = FitAndScore(root);
            int first = ImageFolder.List(root).Select(r => Path.GetFileName(r.ImagePath)).ToList().IndexOf("a-animated.gif");
            CollectionAssert.AreEqual(scores[first + 1], scores[first], "animated = its first (red) frame");
            CollectionAssert.AreNotEqual(scores[first + 2], scores[first], "a blue image scores differently");
        });
    }

    private static Trial UnicodeNamesWork()
    {
        var root = Folder();
        const string Unicode = "Köln 東京 🙂";
        Directory.Move(Path.Combine(root, Bag), Path.Combine(root, Unicode));
        File.Copy(Directory.GetFiles(Path.Combine(root, Unicode))[0], Path.Combine(root, Unicode, "画像 ñ 🙂.png"));
        return Trial.Works(() =>
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadImagesFromFolder(root);
            var model = Fit(data);
            try
            {
                var scored = model.Transform(data);
                VBuffer<ReadOnlyMemory<char>> slots = default;
                scored.Schema["Score"].GetSlotNames(ref slots);
                CollectionAssert.AreEqual(new[] { Boot, Unicode }, slots.DenseValues().Select(s => s.ToString()).ToArray());
                var predicted = scored.GetColumn<string>("PredictedLabel").ToArray();
                Assert.HasCount(9, predicted);
                Assert.IsTrue(predicted.All(p => p is Boot or Unicode), string.Join(", ", predicted));
            }
            finally
            {
                Pipelines.Dispose(model);
            }
        });
    }

    private static void Predict(string path)
    {
        using var engine = new MLContext().Model.CreatePredictionEngine<ImageInput, ImagePrediction>(_model,
            new PredictionEngineOptions { OwnsTransformer = false });
        engine.Predict(new ImageInput { ImagePath = path });
    }

    // ---- file contents ----

    private static byte[] RealPng() => File.ReadAllBytes(Directory.GetFiles(Path.Combine(TestData.FashionMnist, "train", Bag)).Order(StringComparer.Ordinal).First());

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(count).NextBytes(bytes);
        return bytes;
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        var copy = (byte[])bytes.Clone();
        copy[at] ^= 0xFF;
        return copy;
    }

    private static byte[] NoiseJpeg() => Encoded(".jpg");

    private static byte[] NoiseWebP() => Encoded(".webp");

    /// <summary>A 64×64 image of seeded noise, encoded by SkiaSharp in the format of <paramref name="extension"/>.</summary>
    private static byte[] Encoded(string extension)
    {
        var pixels = RandomBytes(64 * 64 * 4);
        for (int i = 3; i < pixels.Length; i += 4) pixels[i] = 255;
        using var image = MLImage.CreateFromPixels(64, 64, MLPixelFormat.Bgra32, pixels);
        var path = Path.Combine(TestData.NewTempFolder(), "noise" + extension);
        image.Save(path);
        return File.ReadAllBytes(path);
    }

    private static byte[] ForgedGif()
    {
        var gif = SyntheticImages.AnimatedGif(2, 2, (1, 2, 3));
        gif.AsSpan(6, 4).Fill(0xFF);
        return gif;
    }

    private static long PeakWorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }

    private sealed class FloatLabelRow
    {
        public string ImagePath { get; set; } = "";
        public float Label { get; set; }
    }

    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    private sealed class LabelRow
    {
        public string Label { get; set; } = "";
    }
}

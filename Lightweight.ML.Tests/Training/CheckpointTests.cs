using Lightweight.ML.Tests.MLNet;
using Microsoft.ML;
using TorchSharp;

namespace Lightweight.ML.Tests.Training;

/// <summary>Checkpoints, resume, cancellation and the NaN guard, on tiny real data.</summary>
[TestClass]
public sealed class CheckpointTests
{
    private static string _trainRoot = null!;
    private static List<ImageInput> _probe = null!;

    [ClassInitialize]
    public static void MakeData(TestContext _)
    {
        _trainRoot = TestData.Subset("train", classes: 2, perClass: 12);
        _probe = Lightweight.ML.Data.ImageFolder.List(TestData.Subset("test", classes: 2, perClass: 4)).ToList();
    }

    /// <summary>GhostNet has dropout, so resuming must also restore libtorch's global generator.</summary>
    private static GhostNetOptions Options(string outputDirectory, int epochs = 4) => new()
    {
        Width = 0.5f, ImageSize = 16, Epochs = epochs, BatchSize = 8, Seed = 11, OutputDirectory = outputDirectory,
    };

    private static (ITransformer Model, MLContext Ml) Fit(GhostNetOptions options)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadImagesFromFolder(_trainRoot);
        return (Pipelines.Build(ml, ml.MulticlassClassification.Trainers.GhostNet(options)).Fit(data), ml);
    }

    private static List<float[]> ProbeScores(ITransformer model, MLContext ml)
    {
        var scores = Pipelines.Scores(model.Transform(ml.Data.LoadFromEnumerable(_probe)));
        Pipelines.Dispose(model);
        return scores;
    }

    [TestMethod]
    public void ResumeAfterCancellationEqualsAnUninterruptedRun()
    {
        var straight = ProbeScores(Fit(Options(TestData.NewTempFolder())) is var (m, ml) ? m : null!, ml);

        var dir = TestData.NewTempFolder();
        using var cancel = new CancellationTokenSource();
        var interrupted = Options(dir);
        interrupted.CancellationToken = cancel.Token;
        var epochs = new List<int>();
        interrupted.Progress = new TestProgress(p => { epochs.Add(p.Epoch); if (p.Epoch == 2) cancel.Cancel(); });
        Assert.ThrowsExactly<OperationCanceledException>(() => Fit(interrupted));
        CollectionAssert.AreEqual(new[] { 1, 2 }, epochs, "cancellation stops before the next batch");
        var header = Lightweight.ML.Training.Checkpoint.ReadHeader(Path.Combine(dir, "checkpoints", "last.ckpt"));
        Assert.AreEqual(2, header.Epoch);
        Assert.AreEqual(2 * 3L, header.Step, "24 images in batches of 8: 3 steps per epoch, none after cancelling");

        var resumed = Options(dir);
        resumed.Resume = true;
        var resumedEpochs = new List<int>();
        resumed.Progress = new TestProgress(p => resumedEpochs.Add(p.Epoch));
        var (model, ml2) = Fit(resumed);
        CollectionAssert.AreEqual(new[] { 3, 4 }, resumedEpochs);
        var scores = ProbeScores(model, ml2);
        for (int i = 0; i < straight.Count; i++) CollectionAssert.AreEqual(straight[i], scores[i], $"row {i}");
    }

    [TestMethod]
    public void AlreadyCancelledTokenStopsBeforeTheFirstStepAndWritesNothing()
    {
        var dir = TestData.NewTempFolder();
        var options = Options(dir);
        options.CancellationToken = new CancellationToken(canceled: true);
        Assert.ThrowsExactly<OperationCanceledException>(() => Fit(options));
        Assert.IsFalse(Directory.Exists(Path.Combine(dir, "checkpoints")) && Directory.EnumerateFiles(Path.Combine(dir, "checkpoints")).Any());
    }

    [TestMethod]
    public void CrashMidWriteLeavesThePreviousCheckpointUsable()
    {
        var dir = TestData.NewTempFolder();
        ProbeScores(Fit(Options(dir, epochs: 2)) is var (m, ml) ? m : null!, ml);
        var last = Path.Combine(dir, "checkpoints", "last.ckpt");
        var bytes = File.ReadAllBytes(last);
        // A writer killed mid-write leaves only a partial temp file; the checkpoint itself is untouched.
        File.WriteAllBytes(last + ".tmp", bytes[..(bytes.Length / 2)]);

        var resumed = Options(dir, epochs: 3);
        resumed.Resume = true;
        var epochs = new List<int>();
        resumed.Progress = new TestProgress(p => epochs.Add(p.Epoch));
        ProbeScores(Fit(resumed) is var (m2, ml2) ? m2 : null!, ml2);
        CollectionAssert.AreEqual(new[] { 3 }, epochs);
        Assert.IsFalse(File.Exists(last + ".tmp"), "the next save replaced the partial temp file");
        Assert.AreEqual(3, Lightweight.ML.Training.Checkpoint.ReadHeader(last).Epoch);
    }

    [TestMethod]
    public void TruncatedOrForeignCheckpointIsRejectedClearly()
    {
        var dir = TestData.NewTempFolder();
        ProbeScores(Fit(Options(dir, epochs: 1)) is var (m, ml) ? m : null!, ml);
        var last = Path.Combine(dir, "checkpoints", "last.ckpt");
        var bytes = File.ReadAllBytes(last);
        File.WriteAllBytes(last, bytes[..(bytes.Length - 100)]);
        var resumed = Options(dir, epochs: 2);
        resumed.Resume = true;
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Fit(resumed));
        StringAssert.Contains(e.Message, last);

        File.WriteAllText(last, "not a checkpoint");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => Fit(resumed)).Message, "not a Lightweight.ML checkpoint");

        File.WriteAllBytes(last, bytes);
        var other = Options(dir, epochs: 2);
        other.Resume = true;
        other.Width = 1.0f;
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => Fit(other)).Message, "GhostNet-0.5x");
    }

    [TestMethod]
    public void DivergingLossStopsWithEpochAndStepAndWritesNoNaNCheckpoint()
    {
        var dir = TestData.NewTempFolder();
        var options = Options(dir, epochs: 3);
        options.LearningRate = 1e30;
        var e = Assert.ThrowsExactly<TrainingDivergedException>(() => Fit(options));
        Assert.AreEqual(1, e.Epoch);
        StringAssert.Contains(e.Message, "epoch 1, step");
        StringAssert.Contains(e.Message, "Lower LearningRate");
        var last = Path.Combine(dir, "checkpoints", "last.ckpt");
        Assert.IsFalse(File.Exists(last), "no checkpoint is written for a diverged epoch");
    }
}

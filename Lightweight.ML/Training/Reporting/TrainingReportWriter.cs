namespace Lightweight.ML.Training.Reporting;

/// <summary>
/// Writes a training run's metrics to a directory, once per epoch: <c>metrics.csv</c>, TensorBoard event files under
/// <c>tensorboard/</c>, and the plots <c>loss.png</c>, <c>accuracy.png</c>, <c>lr.png</c> and (with a validation set)
/// <c>confusion_matrix.png</c>.
/// </summary>
/// <remarks>
/// Resuming into a directory that already holds a report keeps the earlier epochs and drops those at or after the first
/// epoch written, in the CSV and in the event files, so no epoch appears twice. Whole files are replaced atomically
/// (temporary file, flush, rename) and CSV rows are flushed to disk as they are appended, so a crash never leaves the
/// user with less than the previous epoch's report; the temporary files of writes cut short by a crash are deleted when
/// the next run opens the directory.
/// </remarks>
internal sealed class TrainingReportWriter : IDisposable
{
    /// <summary>File names inside <see cref="Directory"/>.</summary>
    public const string CsvFile = "metrics.csv", TensorBoardFolder = "tensorboard", LossPlot = "loss.png",
        AccuracyPlot = "accuracy.png", LearningRatePlot = "lr.png", ConfusionPlot = "confusion_matrix.png";

    private readonly string[] _classNames;
    private readonly List<EpochMetrics> _history;
    private readonly TensorBoardLog _tensorBoard;
    private bool _csvNeedsRewrite, _written, _disposed;

    /// <summary>Prepares <paramref name="directory"/> (created when missing) and reads the report already there.</summary>
    /// <exception cref="IOException">The directory cannot be created or written (the message names it).</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable (the message names it).</exception>
    /// <exception cref="InvalidDataException">It holds a <c>metrics.csv</c> that is not one of ours.</exception>
    public TrainingReportWriter(string directory, IReadOnlyList<string> classNames)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(classNames);
        if (classNames.Count == 0) throw new ArgumentException("At least one class name is needed.", nameof(classNames));
        Directory = Path.GetFullPath(directory);
        _classNames = classNames.ToArray();
        try
        {
            System.IO.Directory.CreateDirectory(Path.Combine(Directory, TensorBoardFolder));
            // Fail now, not after the first epoch, when the directory is not writable.
            using var probe = new FileStream(Path.Combine(Directory, $".write-test.{Guid.NewGuid():N}.tmp"), FileMode.CreateNew,
                FileAccess.Write, FileShare.None, bufferSize: 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw ReportFiles.Named(e, Directory); }
        ReportFiles.DeleteStaleTemporaryFiles(Directory, name => name is CsvFile or LossPlot or AccuracyPlot or LearningRatePlot or ConfusionPlot);
        ReportFiles.DeleteStaleTemporaryFiles(Path.Combine(Directory, TensorBoardFolder), name => name.StartsWith("events.out.tfevents.", StringComparison.Ordinal));
        _history = MetricsCsv.Read(CsvPath, out _csvNeedsRewrite);
        _tensorBoard = new TensorBoardLog(Path.Combine(Directory, TensorBoardFolder));
    }

    /// <summary>The full path of the output directory.</summary>
    public string Directory { get; }

    private string CsvPath => Path.Combine(Directory, CsvFile);

    /// <summary>Records one finished epoch and redraws the plots.</summary>
    /// <param name="m">The epoch's metrics.</param>
    /// <param name="confusion">The validation confusion matrix, <c>[true class, predicted class]</c> counts, square with
    /// one row per class name; null without a validation set (no confusion plot is drawn).</param>
    public void Write(EpochMetrics m, long[,]? confusion)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(m);
        if (m.Epoch < 1) throw new ArgumentOutOfRangeException(nameof(m), m.Epoch, "Epochs are counted from 1.");
        if (confusion is not null && (confusion.GetLength(0) != _classNames.Length || confusion.GetLength(1) != _classNames.Length))
            throw new ArgumentException($"The confusion matrix is {confusion.GetLength(0)}×{confusion.GetLength(1)}; " +
                                        $"{_classNames.Length} classes need {_classNames.Length}×{_classNames.Length}.", nameof(confusion));

        bool resumed = _history.RemoveAll(h => h.Epoch >= m.Epoch) > 0;
        if (resumed || _csvNeedsRewrite) MetricsCsv.Rewrite(CsvPath, _history);
        _csvNeedsRewrite = false;
        if (resumed || !_written) _tensorBoard.DropEpochsFrom(m.Epoch);
        _written = true;

        MetricsCsv.Append(CsvPath, m);
        _history.Add(m);
        _history.Sort((a, b) => a.Epoch.CompareTo(b.Epoch));
        _tensorBoard.Write(m);

        TrainingPlots.WriteLoss(Path.Combine(Directory, LossPlot), _history);
        TrainingPlots.WriteAccuracy(Path.Combine(Directory, AccuracyPlot), _history);
        TrainingPlots.WriteLearningRate(Path.Combine(Directory, LearningRatePlot), _history);
        if (confusion is not null)
            TrainingPlots.WriteConfusion(Path.Combine(Directory, ConfusionPlot), confusion, _classNames, m.Epoch);
    }

    /// <summary>Ends the report; every file is already complete on disk after each <see cref="Write"/>.</summary>
    public void Dispose() => _disposed = true;
}

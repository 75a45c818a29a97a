using System.Diagnostics;
using System.Globalization;
using Lightweight.ML.Training;
using static TorchSharp.torch;

namespace Lightweight.ML.Torture;

internal sealed record KillSettings(DirectoryInfo? Data, DirectoryInfo? Work, int Seed, int Kills, int Epochs, int PerClass, string Model);

/// <summary>
/// Trains once without interruption (the reference), then trains again in another folder, killing the training process
/// with SIGKILL at random moments — during start-up and resume, mid-epoch, while checkpoints and reports are written —
/// and starting it again with Resume after each kill. Checks after every kill: every <c>*.ckpt</c> in the checkpoint
/// folder loads, the checkpoint never goes back, at most one epoch of work is lost, and the next process resumes from
/// the checkpoint that was there. At the end: the final weights equal the reference's bit for bit, and
/// <c>metrics.csv</c> holds each epoch exactly once.
/// </summary>
internal sealed class KillTorture(KillSettings settings)
{
    private static readonly TimeSpan ChildTimeLimit = TimeSpan.FromMinutes(15);
    private readonly List<string> _failures = [];
    private string _data = "";

    public int Run()
    {
        var work = settings.Work?.FullName ?? TortureData.NewWorkFolder("kill");
        Directory.CreateDirectory(work);
        _data = TortureData.Prepare(settings.Data, work, TrainChild.Classes, settings.PerClass);
        string referenceDir = Path.Combine(work, "reference"), runDir = Path.Combine(work, "interrupted");
        var random = new Random(settings.Seed);
        Console.WriteLine($"Kill torture: {settings.Model}, {settings.Epochs} epochs, {settings.Kills} kills, data {_data}, work {work}");

        var reference = Child.Start(_data, referenceDir, settings);
        if (!reference.WaitForExit(ChildTimeLimit) || reference.ExitCode != 0)
            return Fail($"the reference run failed (exit {reference.ExitCodeText}): {reference.Errors}");
        double startup = reference.FirstEpochSeconds, epoch = reference.SecondsPerEpoch;
        Console.WriteLine($"Reference run: {reference.Elapsed.TotalSeconds:F1} s; start-up to first epoch {startup:F2} s, then {epoch:F2} s per epoch");
        Console.WriteLine();
        Console.WriteLine(" kill | killed after | phase    | epochs done | checkpoint before -> after | lost | resumed from | *.ckpt ok | *.tmp left (a write was cut)");
        Console.WriteLine("------+--------------+----------+-------------+----------------------------+------+--------------+-----------+------------------------------");

        int killsDone = 0;
        bool finished = false;
        for (int k = 1; k <= settings.Kills && !finished; k++)
        {
            int before = CheckpointEpoch(runDir);
            // One kill in four during start-up (process start, data decoding, resume); the others while training.
            bool duringStartup = k % 4 == 1;
            double delay = duringStartup ? startup * (0.05 + 0.95 * random.NextDouble()) : startup + epoch * 1.5 * random.NextDouble();
            var child = Child.Start(_data, runDir, settings);
            if (child.WaitForExit(TimeSpan.FromSeconds(delay)))
            {
                if (child.ExitCode == 0) { finished = true; Console.WriteLine($" {k,4} | finished before the kill"); break; }
                Check(false, $"kill {k}: the process failed by itself before the kill (exit {child.ExitCodeText}): {child.Errors}");
                break;
            }
            child.Kill();
            killsDone++;
            int after = CheckpointEpoch(runDir);
            var (loaded, total) = LoadEveryCheckpoint(runDir, $"kill {k}");
            int lost = Math.Max(0, child.LastEpoch - after);
            string phase = duringStartup ? "start-up" : "training";
            Check(after >= before, $"kill {k}: the checkpoint went back from epoch {before} to {after}");
            Check(lost <= 1, $"kill {k}: {lost} completed epochs were lost");
            Check(child.ResumedFrom is null || child.ResumedFrom == before, $"kill {k}: resumed from epoch {child.ResumedFrom}, but the checkpoint held epoch {before}");
            Check(before == 0 || child.ResumedFrom is not null || child.LastEpoch == 0, $"kill {k}: trained without resuming from epoch {before}");
            Console.WriteLine($" {k,4} | {delay * 1000,9:F0} ms | {phase,-8} | {child.LastEpoch,11} | {before,17} -> {after,-6} | {lost,4} | " +
                              $"{child.ResumedFrom?.ToString(CultureInfo.InvariantCulture) ?? "-",12} | {loaded,4} / {total,-2} | {TempFileNames(runDir)}");
        }

        int last = CheckpointEpoch(runDir);
        var final = Child.Start(_data, runDir, settings);
        if (!final.WaitForExit(ChildTimeLimit) || final.ExitCode != 0)
            return Fail($"the final resumed run failed (exit {final.ExitCodeText}): {final.Errors}");
        Check(last == 0 || final.ResumedFrom == last, $"the final run resumed from {final.ResumedFrom?.ToString() ?? "nothing"}, not epoch {last}");
        Console.WriteLine($"final | ran to the end: resumed from epoch {final.ResumedFrom?.ToString() ?? "-"}, trained epochs {last + 1}..{settings.Epochs}");
        var (finalLoaded, finalTotal) = LoadEveryCheckpoint(runDir, "end");

        var referenceWeights = File.ReadAllBytes(Path.Combine(referenceDir, TrainChild.FinalWeights));
        var resumedWeights = File.ReadAllBytes(Path.Combine(runDir, TrainChild.FinalWeights));
        bool identical = referenceWeights.AsSpan().SequenceEqual(resumedWeights);
        Check(identical, $"the final weights differ from the uninterrupted run's ({WeightsDifference(referenceDir, runDir)})");
        Check(TempFiles(runDir) == 0, $"temporary files are left after the final run: {TempFileNames(runDir)}");
        var epochsInCsv = MetricsEpochs(runDir);
        bool csvComplete = epochsInCsv.SequenceEqual(Enumerable.Range(1, settings.Epochs));
        Check(csvComplete, $"metrics.csv lists epochs [{string.Join(", ", epochsInCsv)}], not 1..{settings.Epochs} once each");

        Console.WriteLine();
        Console.WriteLine($"Kills: {killsDone}; every *.ckpt loaded after every kill: {(_failures.Any(f => f.Contains("does not load")) ? "NO" : "yes")} " +
                          $"({finalLoaded}/{finalTotal} at the end); temporary files left after the final run: {TempFiles(runDir)}");
        Console.WriteLine($"Final weights equal the uninterrupted run's: {(identical ? "yes, byte for byte" : "NO")}; " +
                          $"metrics.csv has each epoch once: {(csvComplete ? "yes" : "NO")}");
        foreach (var f in _failures) Console.WriteLine($"FAILED: {f}");
        Console.WriteLine(_failures.Count == 0 ? "PASS" : $"FAIL ({_failures.Count} problem(s))");
        if (_failures.Count == 0 && settings.Work is null) Directory.Delete(work, recursive: true);
        return _failures.Count == 0 ? 0 : 1;
    }

    private int Fail(string message)
    {
        Console.WriteLine($"FAILED: {message}");
        return 1;
    }

    private void Check(bool condition, string failure)
    {
        if (!condition) _failures.Add(failure);
    }

    private static int CheckpointEpoch(string runDir)
    {
        var last = Path.Combine(runDir, "checkpoints", "last.ckpt");
        return File.Exists(last) ? Checkpoint.ReadHeader(last).Epoch : 0;
    }

    /// <summary>The temporary files in the run folder, without the random part of their names (e.g. <c>loss.png.tmp</c>).</summary>
    private static string TempFileNames(string runDir)
        => Directory.Exists(runDir)
            ? string.Join(", ", Directory.GetFiles(runDir, "*.tmp", SearchOption.AllDirectories)
                .Select(f => System.Text.RegularExpressions.Regex.Replace(Path.GetFileName(f), @"\.[0-9a-f]{32}\.tmp$", ".tmp")))
            : "";

    private static int TempFiles(string runDir)
        => Directory.Exists(runDir) ? Directory.GetFiles(runDir, "*.tmp", SearchOption.AllDirectories).Length : 0;

    /// <summary>Loads every checkpoint of the run into a fresh model, optimizer and generators.</summary>
    private (int Loaded, int Total) LoadEveryCheckpoint(string runDir, string when)
    {
        var folder = Path.Combine(runDir, "checkpoints");
        if (!Directory.Exists(folder)) return (0, 0);
        var files = Directory.GetFiles(folder, "*.ckpt");
        int loaded = 0;
        var rng = get_rng_state();
        foreach (var file in files)
        {
            var options = TrainChild.Options(settings.Model, settings.Epochs, settings.Seed, output: null);
            using var model = options.CreateModel(TrainChild.Classes);
            using var optimizer = ParameterGroups.CreateSgd(model, 0.1, options.Momentum, options.Nesterov, 4e-5);
            using var shuffle = new Generator(0);
            using var augment = new Generator(0);
            try
            {
                Checkpoint.Load(file, model, optimizer, shuffle, augment);
                loaded++;
            }
            catch (Exception e)
            {
                _failures.Add($"{when}: '{Path.GetFileName(file)}' does not load: {e.Message}");
            }
        }
        set_rng_state(rng);
        rng.Dispose();
        return (loaded, files.Length);
    }

    private static List<int> MetricsEpochs(string runDir)
        => File.ReadAllLines(Path.Combine(runDir, "metrics.csv")).Skip(1).Where(l => l.Length > 0)
            .Select(l => int.Parse(l.Split(',')[0], CultureInfo.InvariantCulture)).ToList();

    private string WeightsDifference(string referenceDir, string runDir)
    {
        var options = TrainChild.Options(settings.Model, settings.Epochs, settings.Seed, output: null);
        using var a = options.CreateModel(TrainChild.Classes);
        using var b = options.CreateModel(TrainChild.Classes);
        ModelWeights.Load(a, Path.Combine(referenceDir, TrainChild.FinalWeights));
        ModelWeights.Load(b, Path.Combine(runDir, TrainChild.FinalWeights));
        var sb = b.state_dict();
        double max = a.state_dict().Max(kv => (kv.Value.to_type(ScalarType.Float64) - sb[kv.Key].to_type(ScalarType.Float64)).abs().max().item<double>());
        return $"largest difference {max:G3}";
    }

    /// <summary>A started training process and what it printed.</summary>
    private sealed class Child
    {
        private readonly Process _process;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly System.Text.StringBuilder _errors = new();
        private double _firstEpoch = double.NaN, _lastEpochAt;

        private Child(Process process) => _process = process;

        public int LastEpoch { get; private set; }
        public int? ResumedFrom { get; private set; }
        public TimeSpan Elapsed => _clock.Elapsed;
        public double FirstEpochSeconds => _firstEpoch;
        public double SecondsPerEpoch => LastEpoch > 1 ? (_lastEpochAt - _firstEpoch) / (LastEpoch - 1) : _firstEpoch;
        public int ExitCode => _process.ExitCode;
        public string ExitCodeText => _process.HasExited ? _process.ExitCode.ToString(CultureInfo.InvariantCulture) : "none: timed out";
        public string Errors { get { lock (_errors) return _errors.ToString().Trim(); } }

        public static Child Start(string data, string output, KillSettings s)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") start.ArgumentList.Add(typeof(Child).Assembly.Location);
            foreach (var arg in new[] { "train-child", "--data", data, "--out", output, "--seed", s.Seed.ToString(CultureInfo.InvariantCulture),
                         "--epochs", s.Epochs.ToString(CultureInfo.InvariantCulture), "--model", s.Model })
                start.ArgumentList.Add(arg);
            start.Environment["TORCH_CPP_LOG_LEVEL"] = "ERROR";
            var process = new Process { StartInfo = start };
            var child = new Child(process);
            process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (child._errors) child._errors.AppendLine(e.Data); };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return child;
        }

        private void OnLine(string? line)
        {
            if (line is null) return;
            if (line.StartsWith("EPOCH ", StringComparison.Ordinal))
            {
                LastEpoch = int.Parse(line[6..], CultureInfo.InvariantCulture);
                _lastEpochAt = _clock.Elapsed.TotalSeconds;
                if (double.IsNaN(_firstEpoch)) _firstEpoch = _lastEpochAt;
            }
            else if (line.StartsWith("RESUMED ", StringComparison.Ordinal))
                ResumedFrom = int.Parse(line[8..], CultureInfo.InvariantCulture);
        }

        public bool WaitForExit(TimeSpan timeout)
        {
            if (!_process.WaitForExit(timeout)) return false;
            _process.WaitForExit(); // drains the output readers
            return true;
        }

        /// <summary>SIGKILL (Process.Kill on Unix), then waits until the process is gone and its output is read.</summary>
        public void Kill()
        {
            _process.Kill();
            _process.WaitForExit();
        }
    }
}

// lwml: the Lightweight.ML command line. Everything is in LwmlCli.Run, so tests can run it in-process.
using Lightweight.ML.Cli;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cancel.IsCancellationRequested) return; // a second Ctrl+C ends the process at once
    e.Cancel = true;
    Console.Error.WriteLine("Stopping after the current batch (Ctrl+C again to kill)...");
    cancel.Cancel();
};
return LwmlCli.Run(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected, cancel.Token);

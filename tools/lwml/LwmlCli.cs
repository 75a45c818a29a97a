using System.CommandLine;
using Spectre.Console;

namespace Lightweight.ML.Cli;

/// <summary>
/// The <c>lwml</c> command line: <c>train</c>, <c>evaluate</c>, <c>predict</c>, <c>sweep</c> and <c>export</c>.
/// <see cref="Run"/> is the whole program, with its output streams as parameters so tests can run it in-process.
/// </summary>
public static class LwmlCli
{
    /// <summary>Runs <c>lwml</c> with <paramref name="args"/>; returns the exit code (<see cref="ExitCodes"/>).</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="output">Standard output (results, tables, CSV).</param>
    /// <param name="error">Standard error (one-sentence errors; stack traces with <c>--verbose</c>).</param>
    /// <param name="interactive">Draw live progress bars (a terminal) instead of one line per epoch.</param>
    /// <param name="cancellation">Stops training within one batch (Ctrl+C).</param>
    public static int Run(string[] args, TextWriter output, TextWriter error, bool interactive = false, CancellationToken cancellation = default)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
        var context = new CliContext(console, output, error, interactive, cancellation);
        var verbose = new Option<bool>("--verbose") { Description = "Show stack traces of errors", Recursive = true };
        var root = new RootCommand("lwml: train, evaluate, predict with, sweep and export Lightweight.ML image classifiers")
        {
            TrainCommand.Create(context), EvaluateCommand.Create(context), PredictCommand.Create(context),
            SweepCommand.Create(context), ExportCommand.Create(context),
        };
        root.Options.Add(verbose);

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) error.WriteLine($"lwml: {e.Message}");
            string command = string.Join(' ', parse.CommandResult.Command == root ? ["lwml"] : ["lwml", parse.CommandResult.Command.Name]);
            error.WriteLine($"Run '{command} --help' for usage.");
            return ExitCodes.Usage;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            bool usage = e is UsageException;
            var shown = e is System.Reflection.TargetInvocationException { InnerException: { } inner } ? inner : e;
            error.WriteLine(usage ? $"lwml: {shown.Message}" : $"lwml: error: {OneSentence(shown)}");
            if (parse.GetValue(verbose)) error.WriteLine(shown.ToString());
            else if (!usage && shown is not (OperationCanceledException or IOException or InvalidDataException or ArgumentException))
                error.WriteLine("(run with --verbose for details)");
            return usage ? ExitCodes.Usage : ExitCodes.Failed;
        }
    }

    private static string OneSentence(Exception e) => e switch
    {
        OperationCanceledException => "cancelled.",
        _ => e.Message.ReplaceLineEndings(" "),
    };
}

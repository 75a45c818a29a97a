using Spectre.Console;

namespace Lightweight.ML.Cli;

/// <summary>What every command needs: the consoles, whether to draw live progress, and Ctrl+C.</summary>
internal sealed record CliContext(IAnsiConsole Console, TextWriter Output, TextWriter Error, bool Interactive, CancellationToken Cancellation);

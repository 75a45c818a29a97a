namespace Lightweight.ML.Cli;

/// <summary>A command-line mistake found after parsing (a path that does not exist, an unknown model): exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

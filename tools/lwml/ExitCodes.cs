namespace Lightweight.ML.Cli;

/// <summary>Exit codes of <c>lwml</c>.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>The command ran and failed (bad data, a failed training, an I/O error).</summary>
    public const int Failed = 1;

    /// <summary>The command line was wrong: unknown command or option, bad value, missing file or folder.</summary>
    public const int Usage = 2;
}

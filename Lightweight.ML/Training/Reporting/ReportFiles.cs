using Lightweight.ML.Export;

namespace Lightweight.ML.Training.Reporting;

/// <summary>Whole-file replacement that never leaves a half-written file, and I/O errors that name the path.</summary>
internal static class ReportFiles
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/> into a temporary file in the same directory,
    /// flushes it to disk, then renames it over <paramref name="path"/>: readers see the old file or the new one.</summary>
    public static void WriteAtomically(string path, Action<Stream> write)
    {
        try
        {
            AtomicFile.Write(path, write, createDirectory: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Named(e, path);
        }
    }

    /// <summary>The same kind of exception with a message that names <paramref name="path"/>.</summary>
    public static Exception Named(Exception e, string path)
    {
        string message = $"Cannot write the training report file or directory '{path}': {e.Message}";
        return e is UnauthorizedAccessException ? new UnauthorizedAccessException(message, e) : new IOException(message, e);
    }
}

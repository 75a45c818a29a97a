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

    /// <summary>
    /// Deletes the temporary files that <see cref="WriteAtomically"/> leaves when the process is killed mid-write
    /// (<c>name.&lt;32 hex digits&gt;.tmp</c>) for the given report files in <paramref name="directory"/>; otherwise every
    /// crash during a write would leave one behind for good.
    /// </summary>
    public static void DeleteStaleTemporaryFiles(string directory, Func<string, bool> isReportFile)
    {
        if (!System.IO.Directory.Exists(directory)) return;
        foreach (var temp in System.IO.Directory.EnumerateFiles(directory, "*.tmp"))
        {
            var name = Path.GetFileName(temp);
            if (name.Length > 37 && name[^37] == '.' && name[^36..^4].All(char.IsAsciiHexDigitLower) && isReportFile(name[..^37]))
                try { File.Delete(temp); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    /// <summary>The same kind of exception with a message that names <paramref name="path"/>.</summary>
    public static Exception Named(Exception e, string path)
    {
        string message = $"Cannot write the training report file or directory '{path}': {e.Message}";
        return e is UnauthorizedAccessException ? new UnauthorizedAccessException(message, e) : new IOException(message, e);
    }
}

namespace Lightweight.ML.Export;

/// <summary>Writes a file so that readers see either the old file or the complete new one, never a partial write.</summary>
internal static class AtomicFile
{
    /// <summary>
    /// Runs <paramref name="write"/> on a temporary file in the target's folder, flushes it to disk and moves it over
    /// <paramref name="path"/>. On failure the temporary file is deleted and the target is left as it was.
    /// </summary>
    /// <param name="path">The file to write.</param>
    /// <param name="write">Writes the content.</param>
    /// <param name="createDirectory">Create the target's folder if missing (otherwise a missing folder is an IOException).</param>
    public static void Write(string path, Action<Stream> write, bool createDirectory = true)
    {
        var full = Path.GetFullPath(path);
        if (createDirectory) Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = $"{full}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}

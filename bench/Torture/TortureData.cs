namespace Lightweight.ML.Torture;

/// <summary>The image folder the tortures train on: the user's, or a small subset of the repository's Fashion-MNIST images.</summary>
internal static class TortureData
{
    /// <summary>
    /// <paramref name="data"/> when given; otherwise copies the first <paramref name="perClass"/> images of the first
    /// <paramref name="classes"/> classes of <c>examples/data/fashion-mnist-small/train</c> into <paramref name="work"/>.
    /// </summary>
    public static string Prepare(DirectoryInfo? data, string work, int classes, int perClass)
    {
        if (data is not null)
            return data.Exists ? data.FullName : throw new DirectoryNotFoundException($"--data folder '{data.FullName}' does not exist.");
        var source = FindExamples() ?? throw new DirectoryNotFoundException(
            "examples/data/fashion-mnist-small/train was not found above the program's folder; pass --data.");
        var target = Path.Combine(work, "data");
        foreach (var classDir in Directory.GetDirectories(source).Order(StringComparer.Ordinal).Take(classes))
        {
            var dir = Directory.CreateDirectory(Path.Combine(target, Path.GetFileName(classDir))).FullName;
            foreach (var file in Directory.GetFiles(classDir, "*.png").Order(StringComparer.Ordinal).Take(perClass))
                File.Copy(file, Path.Combine(dir, Path.GetFileName(file)), overwrite: true);
        }
        return target;
    }

    private static string? FindExamples()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "examples", "data", "fashion-mnist-small", "train");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>A new folder under the system's temporary folder.</summary>
    public static string NewWorkFolder(string name)
        => Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"lwml-torture-{name}-{Guid.NewGuid():N}"[..40])).FullName;
}

namespace Lightweight.ML.Data;

/// <summary>
/// Lists a folder-per-class image tree (torchvision's <c>ImageFolder</c> layout: <c>root/&lt;class&gt;/&lt;image&gt;</c>)
/// in a deterministic order: classes and files sorted ordinally, hidden files and folders skipped.
/// </summary>
public static class ImageFolder
{
    /// <summary>File extensions read by default (case-insensitive); the formats SkiaSharp decodes.</summary>
    public static IReadOnlyList<string> DefaultExtensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    /// <summary>Lists every image under <paramref name="root"/> with its class (the name of its folder).</summary>
    /// <param name="root">The folder holding one subfolder per class.</param>
    /// <param name="extensions">Extensions to include (with the dot); <c>null</c> for <see cref="DefaultExtensions"/>.</param>
    /// <returns>Rows with absolute <see cref="ImageInput.ImagePath"/> and <see cref="ImageInput.Label"/>, class by class.</returns>
    /// <exception cref="DirectoryNotFoundException"><paramref name="root"/> does not exist.</exception>
    /// <exception cref="InvalidDataException">There are no class folders, or a class folder holds no image.</exception>
    public static IReadOnlyList<ImageInput> List(string root, IEnumerable<string>? extensions = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        var full = Path.GetFullPath(root);
        if (!Directory.Exists(full))
            throw new DirectoryNotFoundException($"Image folder '{full}' does not exist.");
        var allowed = new HashSet<string>(extensions ?? DefaultExtensions, StringComparer.OrdinalIgnoreCase);

        var classDirs = Visible(new DirectoryInfo(full).EnumerateDirectories()).ToList();
        if (classDirs.Count == 0)
        {
            int loose = Visible(new DirectoryInfo(full).EnumerateFiles()).Count(f => allowed.Contains(f.Extension));
            throw new InvalidDataException(
                $"Image folder '{full}' has no class subfolders (found {loose} image file(s) at its top level); " +
                "expected one subfolder per class: root/<class>/<image>.");
        }

        var rows = new List<ImageInput>();
        foreach (var dir in classDirs)
        {
            int before = rows.Count;
            foreach (var file in Visible(dir.EnumerateFiles("*", SearchOption.AllDirectories)))
                if (allowed.Contains(file.Extension) && !IsUnderHiddenFolder(file, dir))
                    rows.Add(new ImageInput { ImagePath = file.FullName, Label = dir.Name });
            if (rows.Count == before)
                throw new InvalidDataException(
                    $"Class folder '{dir.FullName}' holds no image files ({string.Join(", ", allowed.Order(StringComparer.Ordinal))}).");
        }
        return rows;
    }

    private static IEnumerable<T> Visible<T>(IEnumerable<T> entries) where T : FileSystemInfo
        => entries.Where(e => !IsHidden(e)).OrderBy(e => e.FullName, StringComparer.Ordinal);

    private static bool IsHidden(FileSystemInfo entry)
        => entry.Name.StartsWith('.') || (entry.Attributes & FileAttributes.Hidden) != 0;

    private static bool IsUnderHiddenFolder(FileInfo file, DirectoryInfo classDir)
    {
        for (var d = file.Directory; d is not null && d.FullName.Length > classDir.FullName.Length; d = d.Parent)
            if (IsHidden(d)) return true;
        return false;
    }
}

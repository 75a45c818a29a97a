using Microsoft.ML.Data;

namespace Lightweight.ML.Tests;

/// <summary>Test inputs: subsets of the shipped Fashion-MNIST folder, and synthetic image files, in temporary folders.</summary>
internal static class TestData
{
    /// <summary>The Fashion-MNIST subset copied next to the test assembly (200 train / 50 test PNGs per class).</summary>
    public static string FashionMnist { get; } = Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist-small");

    /// <summary>A new empty temporary folder, deleted at process exit.</summary>
    public static string NewTempFolder()
    {
        var path = Path.Combine(Path.GetTempPath(), "lwml-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(path, true); } catch (IOException) { } };
        return path;
    }

    /// <summary>
    /// Copies the first <paramref name="perClass"/> images of <paramref name="classes"/> classes of a split, in ordinal
    /// order after the first <paramref name="skipClasses"/>.
    /// </summary>
    public static string Subset(string split, int classes, int perClass, int skipClasses = 0)
    {
        var root = NewTempFolder();
        foreach (var classDir in Directory.GetDirectories(Path.Combine(FashionMnist, split)).Order(StringComparer.Ordinal).Skip(skipClasses).Take(classes))
        {
            var target = Directory.CreateDirectory(Path.Combine(root, Path.GetFileName(classDir))).FullName;
            foreach (var file in Directory.GetFiles(classDir, "*.png").Order(StringComparer.Ordinal).Take(perClass))
                File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
        return root;
    }

    /// <summary>Writes a solid-colour PNG of the given size and pixel format (via ML.NET's MLImage/SkiaSharp).</summary>
    public static void WritePng(string path, int width, int height, byte r, byte g, byte b, byte a = 255)
    {
        var pixels = new byte[width * height * 4];
        for (int i = 0; i < pixels.Length; i += 4) (pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]) = (b, g, r, a);
        using var image = MLImage.CreateFromPixels(width, height, MLPixelFormat.Bgra32, pixels);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        image.Save(path);
    }
}

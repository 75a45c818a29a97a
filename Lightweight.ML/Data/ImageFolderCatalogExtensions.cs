using Lightweight.ML.Data;
using Microsoft.ML;

namespace Lightweight.ML;

/// <summary>Extensions of <c>mlContext.Data</c> for image folders.</summary>
public static class ImageFolderCatalogExtensions
{
    /// <summary>
    /// Loads a folder-per-class image tree (<c>root/&lt;class&gt;/&lt;image&gt;</c>, torchvision's ImageFolder layout)
    /// as an <see cref="IDataView"/> with the text columns <c>ImagePath</c> (absolute) and <c>Label</c> (folder name).
    /// Images are not decoded here: follow with <c>LoadImages("Image", null, "ImagePath")</c>.
    /// </summary>
    /// <param name="catalog">The <c>mlContext.Data</c> catalog.</param>
    /// <param name="root">The folder holding one subfolder per class.</param>
    /// <param name="extensions">Extensions to include (with the dot); <c>null</c> for png, jpg/jpeg, bmp, gif and webp.</param>
    /// <exception cref="DirectoryNotFoundException"><paramref name="root"/> does not exist.</exception>
    /// <exception cref="InvalidDataException">There are no class folders, or a class folder holds no image.</exception>
    public static IDataView LoadImagesFromFolder(this DataOperationsCatalog catalog, string root, IEnumerable<string>? extensions = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.LoadFromEnumerable(ImageFolder.List(root, extensions));
    }
}

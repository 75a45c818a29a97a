using Lightweight.ML.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lightweight.ML.Tests.Data;

[TestClass]
public sealed class ImageFolderTests
{
    [TestMethod]
    public void ListsClassesAndFilesInOrdinalOrderSkippingHiddenAndOtherFiles()
    {
        var root = TestData.NewTempFolder();
        foreach (var path in new[] { "b/2.png", "b/10.JPG", "a/x.jpeg", "a/sub/y.webp", "a/.hidden.png", "a/.git/z.png", "a/notes.txt", ".trash/q.png" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(root, path))!);
            File.WriteAllText(Path.Combine(root, path), "");
        }
        var rows = ImageFolder.List(root);
        CollectionAssert.AreEqual(new[] { "a", "a", "b", "b" }, rows.Select(r => r.Label).ToArray());
        CollectionAssert.AreEqual(
            new[] { "a/sub/y.webp", "a/x.jpeg", "b/10.JPG", "b/2.png" },
            rows.Select(r => Path.GetRelativePath(root, r.ImagePath).Replace('\\', '/')).ToArray());
        Assert.IsTrue(rows.All(r => Path.IsPathFullyQualified(r.ImagePath)));
    }

    [TestMethod]
    public void LoadImagesFromFolderGivesImagePathAndLabelColumns()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadImagesFromFolder(Path.Combine(TestData.FashionMnist, "test"));
        Assert.AreEqual(500L, data.GetRowCount());
        var labels = data.GetColumn<string>("Label").ToArray();
        var paths = data.GetColumn<string>("ImagePath").ToArray();
        Assert.AreEqual(10, labels.Distinct().Count());
        Assert.AreEqual("Ankle_boot", labels[0]);
        StringAssert.EndsWith(paths[0].Replace('\\', '/'), "Ankle_boot/0001.png");
    }

    [TestMethod]
    public void MissingFolderNamesThePath()
    {
        var missing = Path.Combine(TestData.NewTempFolder(), "nope");
        var e = Assert.ThrowsExactly<DirectoryNotFoundException>(() => ImageFolder.List(missing));
        StringAssert.Contains(e.Message, missing);
    }

    [TestMethod]
    public void EmptyFolderAndFlatFolderAreRejected()
    {
        var empty = TestData.NewTempFolder();
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ImageFolder.List(empty)).Message, "no class subfolders");
        TestData.WritePng(Path.Combine(empty, "loose.png"), 4, 4, 1, 2, 3);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ImageFolder.List(empty)).Message, "found 1 image file");
    }

    [TestMethod]
    public void ClassFolderWithoutImagesIsNamed()
    {
        var root = TestData.NewTempFolder();
        TestData.WritePng(Path.Combine(root, "cat", "1.png"), 4, 4, 1, 2, 3);
        var dog = Directory.CreateDirectory(Path.Combine(root, "dog")).FullName;
        File.WriteAllText(Path.Combine(dog, "readme.txt"), "no images");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ImageFolder.List(root));
        StringAssert.Contains(e.Message, dog);
    }
}

using System.Runtime.InteropServices;
using System.Text;
using Lightweight.ML.Build;
using TorchSharp;
using static Lightweight.ML.Build.LibTorchSharpElfPatch;

namespace Lightweight.ML.Tests.Native;

/// <summary>
/// The build targets (buildTransitive/Lightweight.ML.targets) weaken libLibTorchSharp.so's GLIBCXX_3.4.32 requirement in
/// the output folder when the system libstdc++ lacks it (Debian 12), so that libtorch loads; the NuGet cache stays intact.
/// </summary>
[TestClass]
public sealed class LibTorchSharpPatchTests
{
    private const string LibraryName = "libLibTorchSharp.so";

    [TestMethod]
    public void TorchLoadsFromTheOutputFolder()
    {
        Assert.AreEqual(2f, torch.ones(2).sum().item<float>());
    }

    [TestMethod]
    public void OutputCopyIsWeakExactlyWhenTheSystemNeedsIt()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("The patch applies to Linux only.");
        string[] copies = Directory.GetFiles(AppContext.BaseDirectory, LibraryName, SearchOption.AllDirectories);
        Assert.AreNotEqual(0, copies.Length, $"No {LibraryName} under {AppContext.BaseDirectory}.");
        VersionNeed expected = SystemNeedsPatch ? VersionNeed.Weak : VersionNeed.Required;
        foreach (string copy in copies)
            Assert.AreEqual(expected, Inspect(File.ReadAllBytes(copy)), copy);
    }

    [TestMethod]
    public void NuGetCacheCopyIsUnmodified()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("The patch applies to Linux only.");
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } custom
            ? custom
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string cached = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", LibraryName);
        if (!File.Exists(cached)) Assert.Inconclusive($"{cached} is not in the NuGet cache.");
        Assert.AreEqual(VersionNeed.Required, Inspect(File.ReadAllBytes(cached)));
    }

    [TestMethod]
    public void WeakenSetsOnlyTheWeakFlagAndIsIdempotent()
    {
        byte[] elf = SyntheticElf();
        byte[] original = (byte[])elf.Clone();

        Assert.AreEqual(VersionNeed.Required, Weaken(elf));
        Assert.AreEqual(VersionNeed.Weak, Inspect(elf));
        int[] changed = Enumerable.Range(0, elf.Length).Where(i => elf[i] != original[i]).ToArray();
        CollectionAssert.AreEqual(new[] { GlibcxxFlagsOffset }, changed);
        Assert.AreEqual(2, elf[GlibcxxFlagsOffset]); // VER_FLG_WEAK

        byte[] once = (byte[])elf.Clone();
        Assert.AreEqual(VersionNeed.Weak, Weaken(elf));
        CollectionAssert.AreEqual(once, elf);
    }

    [TestMethod]
    public void RequirementOfAnotherLibraryIsLeftAlone()
    {
        byte[] elf = SyntheticElf(library: "libother.so.1");
        byte[] original = (byte[])elf.Clone();
        Assert.AreEqual(VersionNeed.Absent, Weaken(elf));
        CollectionAssert.AreEqual(original, elf);
    }

    [TestMethod]
    public void TruncatedOrNonElfInputIsReportedNotThrown()
    {
        byte[] elf = SyntheticElf();
        for (int length = 0; length < elf.Length; length++)
        {
            byte[] truncated = elf[..length];
            Assert.AreEqual(VersionNeed.Malformed, Weaken(truncated), $"length {length}");
            CollectionAssert.AreEqual(elf[..length], truncated);
        }
        Assert.AreEqual(VersionNeed.Malformed, Inspect(Encoding.ASCII.GetBytes("#!/bin/sh\necho this is not an ELF file\n")));
    }

    [TestMethod]
    public void CorruptedInputNeverThrows()
    {
        byte[] elf = SyntheticElf();
        var random = new Random(1234);
        for (int trial = 0; trial < 20_000; trial++)
        {
            byte[] corrupted = (byte[])elf.Clone();
            for (int flips = random.Next(1, 4); flips > 0; flips--)
                corrupted[random.Next(corrupted.Length)] = (byte)random.Next(256);
            Weaken(corrupted); // any result is fine, an exception is not
        }
    }

    [TestMethod]
    public void PatchFileReplacesTheFileAndKeepsItsModeAndTime()
    {
        string directory = Directory.CreateTempSubdirectory("lwml-elf-").FullName;
        try
        {
            string path = Path.Combine(directory, LibraryName);
            File.WriteAllBytes(path, SyntheticElf());
            var time = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);
            File.SetLastWriteTimeUtc(path, time);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead);

            Assert.AreEqual(VersionNeed.Required, PatchFile(path));
            Assert.AreEqual(VersionNeed.Weak, Inspect(File.ReadAllBytes(path)));
            Assert.AreEqual(time, File.GetLastWriteTimeUtc(path));
            if (!OperatingSystem.IsWindows())
                Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead, File.GetUnixFileMode(path));
            Assert.AreEqual(VersionNeed.Weak, PatchFile(path));
            CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(directory)); // no temp file left behind
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void SystemCheckMatchesLibStdCxx()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.IsFalse(SystemNeedsPatch);
            return;
        }
        string? libstdcxx = new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib/aarch64-linux-gnu", "/usr/lib" }
            .Select(d => Path.Combine(d, "libstdc++.so.6")).FirstOrDefault(File.Exists);
        if (libstdcxx is null) Assert.Inconclusive("No libstdc++.so.6 in the usual places.");
        bool defines = Encoding.Latin1.GetString(File.ReadAllBytes(libstdcxx)).Contains("GLIBCXX_3.4.32\0", StringComparison.Ordinal);
        Assert.AreEqual(!defines, SystemNeedsPatch);
    }

    // A minimal 64-bit little-endian ELF: header, .dynstr, .gnu.version_r needing GLIBCXX_3.4.19 and GLIBCXX_3.4.32 from
    // `library`, then the section header table (null, .dynstr, .gnu.version_r) at the very end.
    private const int DynstrOffset = 64, VerneedOffset = 112, SectionsOffset = 160;
    private const int GlibcxxFlagsOffset = VerneedOffset + 16 + 16 + 4; // second Vernaux's vna_flags

    private static byte[] SyntheticElf(string library = "libstdc++.so.6")
    {
        byte[] strings = Encoding.ASCII.GetBytes($"\0{library}\0GLIBCXX_3.4.19\0GLIBCXX_3.4.32\0");
        uint file = 1, v19 = (uint)(2 + library.Length), v32 = v19 + 15;
        Assert.IsTrue(strings.Length <= VerneedOffset - DynstrOffset);

        var stream = new MemoryStream();
        var w = new BinaryWriter(stream);
        w.Write(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0 }); w.Write(0UL);
        w.Write((ushort)3); w.Write((ushort)62); w.Write(1u); w.Write(0UL); w.Write(0UL); w.Write((ulong)SectionsOffset);
        w.Write(0u); w.Write((ushort)64); w.Write((ushort)0); w.Write((ushort)0); w.Write((ushort)64); w.Write((ushort)3); w.Write((ushort)0);
        w.Write(strings); w.Write(new byte[VerneedOffset - DynstrOffset - strings.Length]);
        w.Write((ushort)1); w.Write((ushort)2); w.Write(file); w.Write(16u); w.Write(0u);            // Elf64_Verneed
        w.Write(0x08922974u); w.Write((ushort)0); w.Write((ushort)2); w.Write(v19); w.Write(16u);    // Elf64_Vernaux 3.4.19
        w.Write(0x08922982u); w.Write((ushort)0); w.Write((ushort)3); w.Write(v32); w.Write(0u);     // Elf64_Vernaux 3.4.32
        Assert.AreEqual(SectionsOffset, stream.Length);
        w.Write(new byte[64]);
        Section(w, type: 3, offset: DynstrOffset, size: strings.Length, link: 0, info: 0);
        Section(w, type: 0x6ffffffe, offset: VerneedOffset, size: 48, link: 1, info: 1);
        return stream.ToArray();
    }

    private static void Section(BinaryWriter w, uint type, long offset, long size, uint link, uint info)
    {
        w.Write(0u); w.Write(type); w.Write(2UL); w.Write(0UL); w.Write((ulong)offset); w.Write((ulong)size);
        w.Write(link); w.Write(info); w.Write(8UL); w.Write(0UL);
    }
}

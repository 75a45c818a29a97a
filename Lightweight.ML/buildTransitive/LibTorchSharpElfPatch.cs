// Compiled by the RoslynCodeTaskFactory in Lightweight.ML.targets (against .NET Standard 2.0, with no preprocessor
// symbols) and, without the MSBuild task at the end, by Lightweight.ML.Tests (which defines LIGHTWEIGHT_ML_NO_MSBUILD_TASK).
#nullable enable
using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace Lightweight.ML.Build
{
    /// <summary>
    /// Makes TorchSharp's libLibTorchSharp.so load on Linux systems whose libstdc++ predates GCC 13 (Debian 12, Ubuntu 22.04).
    /// The library requires libstdc++'s version GLIBCXX_3.4.32 only for <c>std::ios_base_library_init</c>, which it never
    /// calls; setting VER_FLG_WEAK on that one requirement (a Vernaux entry in .gnu.version_r) lets the loader accept an
    /// older libstdc++. Only 64-bit little-endian ELF files are handled; every offset read is bounds-checked.
    /// </summary>
    internal static class LibTorchSharpElfPatch
    {
        /// <summary>State of libstdc++.so.6's GLIBCXX_3.4.32 requirement in an ELF file.</summary>
        public enum VersionNeed { Absent, Required, Weak, Malformed }

        private const string Library = "libstdc++.so.6";
        private const string Version = "GLIBCXX_3.4.32";
        private const byte VerFlgWeak = 2;
        private const uint ShtGnuVerneed = 0x6ffffffe; // section type of .gnu.version_r

        private static readonly string[] LibraryDirectories =
        {
            "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib/aarch64-linux-gnu", "/usr/lib",
        };

        private static readonly Lazy<bool> systemNeedsPatch = new Lazy<bool>(() =>
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return false;
            byte[] definition = Encoding.ASCII.GetBytes(Version + "\0");
            foreach (string directory in LibraryDirectories)
            {
                string path = Path.Combine(directory, Library);
                if (File.Exists(path)) return !Contains(File.ReadAllBytes(path), definition);
            }
            return false; // no libstdc++ found where expected: nothing to go by, leave the file alone
        });

        /// <summary>True on Linux when the system libstdc++.so.6 lacks version GLIBCXX_3.4.32.</summary>
        public static bool SystemNeedsPatch => systemNeedsPatch.Value;

        /// <summary>Finds the GLIBCXX_3.4.32 requirement; never throws for malformed input.</summary>
        public static VersionNeed Inspect(byte[] elf) => Inspect(elf, out _);

        /// <summary>Sets VER_FLG_WEAK on the requirement in <paramref name="elf"/> if it is <see cref="VersionNeed.Required"/>.</summary>
        /// <returns>The state found before the change.</returns>
        public static VersionNeed Weaken(byte[] elf)
        {
            VersionNeed found = Inspect(elf, out long flagsAt);
            if (found == VersionNeed.Required) elf[flagsAt] |= VerFlgWeak; // vna_flags is little-endian: the flag is in its low byte
            return found;
        }

        /// <summary>
        /// Weakens the requirement in the file at <paramref name="path"/> if it is <see cref="VersionNeed.Required"/>, else
        /// leaves the file alone. The change is written to a copy in the same folder that then replaces the file (rename),
        /// so the write is atomic and a hard link into the NuGet cache is never written through. The copy keeps the
        /// original's permissions and last-write time, so an incremental Copy sees it as unchanged and skips it next build.
        /// </summary>
        /// <returns>The state found before the change.</returns>
        public static VersionNeed PatchFile(string path)
        {
            byte[] elf = File.ReadAllBytes(path);
            VersionNeed found = Weaken(elf);
            if (found != VersionNeed.Required) return found;
            string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            try
            {
                File.Copy(path, temp);
                File.WriteAllBytes(temp, elf); // truncates the copy in place, keeping its permissions
                File.SetLastWriteTimeUtc(temp, File.GetLastWriteTimeUtc(path));
                File.Replace(temp, path, null);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
            return found;
        }

        private static VersionNeed Inspect(byte[] elf, out long flagsAt)
        {
            flagsAt = -1;
            try
            {
                // Elf64_Ehdr: e_ident = 7F 'E' 'L' 'F', ELFCLASS64 (2), ELFDATA2LSB (1); e_shoff, e_shentsize, e_shnum.
                Need(elf, 0, 64);
                if (elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F' || elf[4] != 2 || elf[5] != 1)
                    return VersionNeed.Malformed;
                long sections = Offset(elf, 0x28);
                int entrySize = U16(elf, 0x3A), count = U16(elf, 0x3C);
                if (count > 0 && entrySize < 64) return VersionNeed.Malformed;
                Need(elf, sections, (long)count * entrySize);
                for (int i = 0; i < count; i++)
                {
                    // Elf64_Shdr: sh_type @4, sh_offset @24, sh_size @32, sh_link @40 (its string table).
                    long header = sections + (long)i * entrySize;
                    if (U32(elf, header + 4) != ShtGnuVerneed) continue;
                    long start = Offset(elf, header + 24), end = start + Offset(elf, header + 32);
                    uint link = U32(elf, header + 40);
                    if (end > elf.Length || link >= count) return VersionNeed.Malformed;
                    long strings = Offset(elf, sections + link * entrySize + 24);
                    long stringsEnd = strings + Offset(elf, sections + link * entrySize + 32);
                    if (stringsEnd > elf.Length) return VersionNeed.Malformed;

                    // Elf64_Verneed {vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32}, chained by vn_next;
                    // Elf64_Vernaux {vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32}, chained by vna_next.
                    // Offsets are unsigned and every entry must lie inside the section, so the walks always end.
                    for (long need = start; ; )
                    {
                        Need(elf, need, 16, end);
                        bool fromLibrary = NameIs(elf, strings, stringsEnd, U32(elf, need + 4), Library);
                        long aux = need + U32(elf, need + 8);
                        for (int n = U16(elf, need + 2); n > 0; n--)
                        {
                            Need(elf, aux, 16, end);
                            if (fromLibrary && NameIs(elf, strings, stringsEnd, U32(elf, aux + 8), Version))
                            {
                                flagsAt = aux + 4;
                                return (elf[flagsAt] & VerFlgWeak) != 0 ? VersionNeed.Weak : VersionNeed.Required;
                            }
                            uint nextAux = U32(elf, aux + 12);
                            if (nextAux == 0) break;
                            aux += nextAux;
                        }
                        uint next = U32(elf, need + 12);
                        if (next == 0) break;
                        need += next;
                    }
                }
                return VersionNeed.Absent;
            }
            catch (InvalidDataException)
            {
                return VersionNeed.Malformed;
            }
        }

        private static bool NameIs(byte[] elf, long strings, long stringsEnd, uint offset, string name)
        {
            long at = strings + offset;
            for (int i = 0; i <= name.Length; i++, at++)
            {
                Need(elf, at, 1, stringsEnd);
                if (elf[at] != (i < name.Length ? name[i] : 0)) return false;
            }
            return true;
        }

        private static void Need(byte[] elf, long at, long size, long end = long.MaxValue)
        {
            if (at < 0 || at + size > Math.Min(end, elf.Length)) throw new InvalidDataException();
        }

        private static ushort U16(byte[] elf, long at)
        {
            Need(elf, at, 2);
            return (ushort)(elf[at] | elf[at + 1] << 8);
        }

        private static uint U32(byte[] elf, long at) => U16(elf, at) | (uint)U16(elf, at + 2) << 16;

        /// <summary>A 64-bit file offset or size; anything beyond the file is malformed.</summary>
        private static long Offset(byte[] elf, long at)
        {
            ulong value = U32(elf, at) | (ulong)U32(elf, at + 4) << 32;
            if (value > (ulong)elf.Length) throw new InvalidDataException();
            return (long)value;
        }

        private static bool Contains(byte[] haystack, byte[] needle)
        {
            for (int i = 0; i <= haystack.Length - needle.Length; i++)
            {
                int j = 0;
                while (j < needle.Length && haystack[i + j] == needle[j]) j++;
                if (j == needle.Length) return true;
            }
            return false;
        }
    }
}

#if !LIGHTWEIGHT_ML_NO_MSBUILD_TASK
namespace Lightweight.ML.Build
{
    using Microsoft.Build.Framework;
    using Microsoft.Build.Utilities;

    /// <summary>Patches each given libLibTorchSharp.so when this system's libstdc++ needs it; only ever warns.</summary>
    public sealed class LightweightMLPatchLibTorchSharp : Task
    {
        [Required]
        public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

        public override bool Execute()
        {
            try
            {
                if (!LibTorchSharpElfPatch.SystemNeedsPatch) return true;
            }
            catch (Exception e)
            {
                Log.LogWarning("Lightweight.ML: could not read the system libstdc++.so.6, so libLibTorchSharp.so was left unpatched: {0}", e.Message);
                return true;
            }
            foreach (ITaskItem file in Files)
            {
                string path = file.GetMetadata("FullPath");
                try
                {
                    switch (LibTorchSharpElfPatch.PatchFile(path))
                    {
                        case LibTorchSharpElfPatch.VersionNeed.Required:
                            Log.LogMessage(MessageImportance.High, "Lightweight.ML: made the GLIBCXX_3.4.32 requirement of {0} weak, as this " +
                                           "system's libstdc++ predates GCC 13 (the one symbol needing it is never called).", path);
                            break;
                        case LibTorchSharpElfPatch.VersionNeed.Malformed:
                            Log.LogWarning("Lightweight.ML: left {0} unpatched: it is not the 64-bit little-endian ELF file expected. " +
                                           "It may fail to load with this system's libstdc++ (no GLIBCXX_3.4.32).", path);
                            break;
                    }
                }
                catch (Exception e)
                {
                    Log.LogWarning("Lightweight.ML: could not patch {0} for this system's older libstdc++: {1}", path, e.Message);
                }
            }
            return true;
        }
    }
}
#endif

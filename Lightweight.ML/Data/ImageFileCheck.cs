using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Lightweight.ML.Data;

/// <summary>
/// Cheap checks of an image file before it is decoded, for the two failures SkiaSharp (and so ML.NET's
/// <c>LoadImages</c>) does not report: a header claiming an enormous size, which the decoder would allocate in full
/// (a forged 100,000 × 100,000 PNG costs it 10 GB and a minute before it fails), and a truncated PNG, JPEG, WebP
/// or uncompressed BMP, which it decodes without error into a partly blank image. Only the header and the last few
/// kilobytes are read (a PNG or JPEG whose end is not in its tail is followed further, as files with trailers need).
/// GIFs are checked for size only; files in other formats, and files that cannot be opened, pass unchecked: the decoder
/// reports those.
/// </summary>
internal static class ImageFileCheck
{
    /// <summary>
    /// Most pixels an image may have: 178,956,970, the size above which Pillow refuses to open an image
    /// (<c>DecompressionBombError</c>, twice its <c>MAX_IMAGE_PIXELS</c>); about 716 MB once decoded to BGRA.
    /// </summary>
    public const long MaxPixels = 2 * 89_478_485L;

    private const int TailBytes = 4096;

    /// <summary>Throws when the file's header claims too many pixels or the file is cut short.</summary>
    /// <param name="path">The image file.</param>
    /// <param name="row">The row it came from, for the message.</param>
    /// <exception cref="InvalidDataException">The message names the file, the row and what is wrong.</exception>
    public static void ThrowIfUnusable(string path, long row)
    {
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return; // missing or unreadable: the decoder's error (and ImageRowReader's description of it) says so
        }
        using (file)
        {
            long length = RandomAccess.GetLength(file);
            Span<byte> head = stackalloc byte[64];
            head = head[..RandomAccess.Read(file, head, 0)];
            string? problem = head switch
            {
                [0x89, (byte)'P', (byte)'N', (byte)'G', ..] => CheckPng(file, head, length),
                [0xFF, 0xD8, 0xFF, ..] => CheckJpeg(file, length),
                [(byte)'R', (byte)'I', (byte)'F', (byte)'F', _, _, _, _, (byte)'W', (byte)'E', (byte)'B', (byte)'P', ..] => CheckWebP(head, length),
                [(byte)'G', (byte)'I', (byte)'F', (byte)'8', _, (byte)'a', ..] when head.Length >= 10 =>
                    CheckSize("GIF", BinaryPrimitives.ReadUInt16LittleEndian(head[6..]), BinaryPrimitives.ReadUInt16LittleEndian(head[8..])),
                [(byte)'B', (byte)'M', ..] when head.Length >= 30 => CheckBmp(head, length),
                _ => null,
            };
            if (problem is not null)
                throw new InvalidDataException($"Image file '{path}' (row {row}) {problem}");
        }
    }

    private static string? CheckSize(string format, long width, long height)
        => width * height > MaxPixels
            ? $"is a {format} whose header claims {width:N0} × {height:N0} pixels, more than the {MaxPixels:N0}-pixel limit " +
              "(decoding it would need gigabytes); the file is forged or corrupt, or the image must be downscaled first."
            : null;

    private static string? CheckPng(SafeFileHandle file, ReadOnlySpan<byte> head, long length)
    {
        if (head.Length < 24 || !head[12..16].SequenceEqual("IHDR"u8)) return null; // the decoder rejects it
        if (CheckSize("PNG", BinaryPrimitives.ReadUInt32BigEndian(head[16..]), BinaryPrimitives.ReadUInt32BigEndian(head[20..])) is { } size)
            return size;
        // Every PNG ends with an IEND chunk: usually in the last bytes; otherwise (data appended after it, or a cut
        // file) follow the chunks from the start.
        return Tail(file, length).IndexOf("IEND"u8) >= 0 || HasIendChunk(file, length) ? null
            : "is truncated: it has no IEND chunk, so its image data is incomplete (an interrupted download or copy?).";
    }

    /// <summary>Walks the chunk list (length, type, data, CRC) from the signature on; true when it reaches IEND inside the file.</summary>
    private static bool HasIendChunk(SafeFileHandle file, long length)
    {
        Span<byte> chunk = stackalloc byte[8];
        for (long offset = 8; offset + 8 <= length;)
        {
            if (RandomAccess.Read(file, chunk, offset) < 8) return false;
            if (chunk[4..].SequenceEqual("IEND"u8)) return true;
            offset += 12L + BinaryPrimitives.ReadUInt32BigEndian(chunk);
        }
        return false;
    }

    private static string? CheckBmp(ReadOnlySpan<byte> head, long length)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(head[14..]) < 40) return null; // OS/2 1.x header: 16-bit sizes elsewhere
        long width = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(head[18..]));
        long height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(head[22..]));
        if (CheckSize("BMP", width, height) is { } size) return size;
        // Uncompressed pixel data has a known size; compressed (RLE, JPEG, PNG) data does not.
        int bitsPerPixel = BinaryPrimitives.ReadUInt16LittleEndian(head[28..]);
        if (head.Length < 34 || BinaryPrimitives.ReadUInt32LittleEndian(head[30..]) != 0 || bitsPerPixel is not (1 or 4 or 8 or 16 or 24 or 32))
            return null;
        long needed = BinaryPrimitives.ReadUInt32LittleEndian(head[10..]) + (width * bitsPerPixel + 31) / 32 * 4 * height;
        return needed > length ? $"is truncated: its pixel data needs {needed:N0} bytes, but the file has {length:N0}." : null;
    }

    private static string? CheckWebP(ReadOnlySpan<byte> head, long length)
    {
        long riffEnd = 8L + BinaryPrimitives.ReadUInt32LittleEndian(head[4..]);
        if (riffEnd > length)
            return $"is truncated: its RIFF header says {riffEnd:N0} bytes, but the file has {length:N0}.";
        if (head.Length < 30) return null;
        return head[12..16] switch
        {
            [(byte)'V', (byte)'P', (byte)'8', (byte)'X'] => CheckSize("WebP", 1 + (head[24] | head[25] << 8 | head[26] << 16), 1 + (head[27] | head[28] << 8 | head[29] << 16)),
            _ => null, // simple VP8/VP8L images are at most 16,383 × 16,383 and the RIFF size already vouches for their data
        };
    }

    /// <summary>Finds the frame size in the SOF segment and an end-of-image marker after the first scan.</summary>
    private static string? CheckJpeg(SafeFileHandle file, long length)
    {
        Span<byte> marker = stackalloc byte[9];
        long offset = 2, scanStart = -1;
        while (offset + 4 <= length)
        {
            int read = RandomAccess.Read(file, marker, offset);
            if (read < 4 || marker[0] != 0xFF) return null; // not a marker where one belongs: the decoder reports it
            byte code = marker[1];
            if (code == 0xFF) { offset++; continue; } // fill byte
            int segment = BinaryPrimitives.ReadUInt16BigEndian(marker[2..]);
            bool startOfFrame = code is >= 0xC0 and <= 0xCF && code is not (0xC4 or 0xC8 or 0xCC);
            if (startOfFrame && read >= 9)
            {
                if (CheckSize("JPEG", BinaryPrimitives.ReadUInt16BigEndian(marker[7..]), BinaryPrimitives.ReadUInt16BigEndian(marker[5..])) is { } size)
                    return size;
            }
            if (code == 0xDA)
            {
                scanStart = offset + 2 + segment;
                break;
            }
            if (code is 0xD9 or (>= 0xD0 and <= 0xD7) or 0x01) { offset += 2; continue; } // markers without a length
            offset += 2 + segment;
        }
        if (scanStart < 0 || scanStart >= length)
            return "is truncated: it ends before its image data (no complete scan).";
        // Entropy-coded data cannot contain FF D9 (an FF in it is followed by 00 or a restart code), so the first
        // FF D9 after the scan starts is the end-of-image marker. Usually it is in the last bytes; files with a trailer
        // (as some phones append) are scanned from the first scan on.
        if (Tail(file, length).IndexOf(EndOfImage) >= 0 || Contains(file, scanStart, length, EndOfImage))
            return null;
        return "is truncated: it has no end-of-image marker after its image data (an interrupted download or copy?).";
    }

    private static ReadOnlySpan<byte> EndOfImage => [0xFF, 0xD9];

    private static byte[] Tail(SafeFileHandle file, long length)
    {
        var tail = new byte[(int)Math.Min(length, TailBytes)];
        int read = RandomAccess.Read(file, tail, length - tail.Length);
        return tail[..read];
    }

    /// <summary>Whether <paramref name="pattern"/> occurs in the file from <paramref name="start"/> on.</summary>
    private static bool Contains(SafeFileHandle file, long start, long length, ReadOnlySpan<byte> pattern)
    {
        var buffer = new byte[1 << 16];
        for (long offset = start; offset < length; offset += buffer.Length - (pattern.Length - 1))
        {
            int read = RandomAccess.Read(file, buffer, offset);
            if (read <= 0) return false;
            if (buffer.AsSpan(0, read).IndexOf(pattern) >= 0) return true;
            if (offset + read >= length) return false;
        }
        return false;
    }
}

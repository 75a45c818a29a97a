using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Lightweight.ML.Tests.Reliability;

/// <summary>
/// Tiny image files in formats SkiaSharp cannot write (16-bit and palette PNGs, forged PNG headers, animated GIFs, CMYK
/// JPEGs), produced at test time from a few lines of format code so no binary file is committed.
/// </summary>
internal static class SyntheticImages
{
    /// <summary>PNG colour types (PNG spec, table 11.1).</summary>
    public const byte Gray = 0, Rgb = 2, Palette = 3, GrayAlpha = 4, Rgba = 6;

    /// <summary>
    /// A non-interlaced PNG. <paramref name="rows"/> holds the packed scanlines without filter bytes (big-endian samples for
    /// 16-bit depths); filter type 0 is added to each row.
    /// </summary>
    public static byte[] Png(int width, int height, byte bitDepth, byte colorType, byte[] rows, byte[]? palette = null)
    {
        int channels = colorType switch { Gray or Palette => 1, GrayAlpha => 2, Rgb => 3, Rgba => 4, _ => throw new ArgumentOutOfRangeException(nameof(colorType)) };
        int rowBytes = (width * channels * bitDepth + 7) / 8;
        if (rows.Length != rowBytes * height) throw new ArgumentException($"Expected {rowBytes * height} pixel bytes, got {rows.Length}.", nameof(rows));
        var filtered = new byte[(rowBytes + 1) * height];
        for (int y = 0; y < height; y++) Array.Copy(rows, y * rowBytes, filtered, y * (rowBytes + 1) + 1, rowBytes);
        return PngFile(width, height, bitDepth, colorType, Deflate(filtered), palette);
    }

    /// <summary>A solid-colour 16-bit RGB PNG (each 16-bit sample is the 8-bit value repeated, as in 0xC8C8).</summary>
    public static byte[] Png16(int width, int height, byte r, byte g, byte b)
    {
        var rows = new byte[width * height * 6];
        for (int i = 0; i < rows.Length; i += 6) (rows[i], rows[i + 1], rows[i + 2], rows[i + 3], rows[i + 4], rows[i + 5]) = (r, r, g, g, b, b);
        return Png(width, height, 16, Rgb, rows);
    }

    /// <summary>
    /// A PNG whose header claims <paramref name="width"/> × <paramref name="height"/> pixels (grayscale, 8-bit) but whose
    /// image data holds only a few rows: a decoder that trusts the header allocates width × height × 4 bytes.
    /// </summary>
    public static byte[] PngWithForgedSize(int width, int height)
        => PngFile(width, height, 8, Gray, Deflate(new byte[Math.Min(width + 1, 4096) * 2]), palette: null);

    private static byte[] PngFile(int width, int height, byte bitDepth, byte colorType, byte[] idat, byte[]? palette)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        (ihdr[8], ihdr[9]) = (bitDepth, colorType); // compression, filter, interlace: 0
        Chunk(png, "IHDR", ihdr);
        if (palette is not null) Chunk(png, "PLTE", palette);
        Chunk(png, "IDAT", idat);
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static byte[] Deflate(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var zlib = new ZLibStream(buffer, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(data);
        return buffer.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        png.Write(word);
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData));
        png.Write(word);
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>
    /// A looping animated GIF of solid-colour frames, one per entry of <paramref name="frames"/> (at most 4 colours).
    /// The LZW stream resets its table every two pixels, so every code stays 3 bits wide: valid, if not compact.
    /// </summary>
    public static byte[] AnimatedGif(int width, int height, params (byte R, byte G, byte B)[] frames)
    {
        if (frames.Length is < 1 or > 4) throw new ArgumentOutOfRangeException(nameof(frames), "1 to 4 frames.");
        using var gif = new MemoryStream();
        gif.Write("GIF89a"u8);
        WriteUInt16(gif, width);
        WriteUInt16(gif, height);
        gif.Write([0xF1, 0, 0]);                                 // global colour table of 4 entries, 8-bit colour resolution
        for (int i = 0; i < 4; i++)
        {
            var (r, g, b) = frames[Math.Min(i, frames.Length - 1)];
            gif.Write([r, g, b]);
        }
        gif.Write([0x21, 0xFF, 11]);                             // NETSCAPE2.0: loop forever
        gif.Write("NETSCAPE2.0"u8);
        gif.Write([3, 1, 0, 0, 0]);
        for (int frame = 0; frame < frames.Length; frame++)
        {
            gif.Write([0x21, 0xF9, 4, 0x04, 10, 0, 0, 0]);       // graphic control: keep the frame, 0.1 s
            gif.WriteByte(0x2C);                                 // image descriptor at (0, 0), no local colour table
            WriteUInt16(gif, 0);
            WriteUInt16(gif, 0);
            WriteUInt16(gif, width);
            WriteUInt16(gif, height);
            gif.WriteByte(0);
            const int MinCodeSize = 2, Clear = 4, End = 5;
            gif.WriteByte(MinCodeSize);
            var codes = new List<int>();
            for (int p = 0; p < width * height; p++)
            {
                if (p % 2 == 0) codes.Add(Clear);
                codes.Add(frame);
            }
            codes.Add(End);
            var data = PackLsbFirst(codes, bits: 3);
            for (int offset = 0; offset < data.Length; offset += 255)
            {
                int n = Math.Min(255, data.Length - offset);
                gif.WriteByte((byte)n);
                gif.Write(data, offset, n);
            }
            gif.WriteByte(0);
        }
        gif.WriteByte(0x3B);
        return gif.ToArray();
    }

    private static byte[] PackLsbFirst(List<int> codes, int bits)
    {
        var bytes = new List<byte>();
        int buffer = 0, count = 0;
        foreach (int code in codes)
        {
            buffer |= code << count;
            count += bits;
            while (count >= 8)
            {
                bytes.Add((byte)buffer);
                buffer >>= 8;
                count -= 8;
            }
        }
        if (count > 0) bytes.Add((byte)buffer);
        return bytes.ToArray();
    }

    private static void WriteUInt16(Stream s, int value) => s.Write([(byte)value, (byte)(value >> 8)]);

    /// <summary>
    /// A solid-colour 24-bit BMP (bottom-up rows padded to 4 bytes); its header may claim another size than the pixels
    /// it holds (<paramref name="headerWidth"/>, <paramref name="headerHeight"/>: a forged file).
    /// </summary>
    public static byte[] Bmp(int width, int height, byte r, byte g, byte b, int? headerWidth = null, int? headerHeight = null)
    {
        int rowBytes = (width * 3 + 3) & ~3;
        var bmp = new byte[54 + rowBytes * height];
        var span = bmp.AsSpan();
        (bmp[0], bmp[1]) = ((byte)'B', (byte)'M');
        BinaryPrimitives.WriteInt32LittleEndian(span[2..], bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span[10..], 54);                 // pixel data offset
        BinaryPrimitives.WriteInt32LittleEndian(span[14..], 40);                 // BITMAPINFOHEADER
        BinaryPrimitives.WriteInt32LittleEndian(span[18..], headerWidth ?? width);
        BinaryPrimitives.WriteInt32LittleEndian(span[22..], headerHeight ?? height);
        BinaryPrimitives.WriteInt16LittleEndian(span[26..], 1);                  // planes
        BinaryPrimitives.WriteInt16LittleEndian(span[28..], 24);                 // bits per pixel, no compression
        BinaryPrimitives.WriteInt32LittleEndian(span[34..], rowBytes * height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                (bmp[54 + y * rowBytes + 3 * x], bmp[55 + y * rowBytes + 3 * x], bmp[56 + y * rowBytes + 3 * x]) = (b, g, r);
        return bmp;
    }

    /// <summary>A copy of a baseline JPEG whose frame header (SOF0) claims <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static byte[] WithJpegFrameSize(byte[] jpeg, int width, int height)
    {
        var copy = (byte[])jpeg.Clone();
        int sof = copy.AsSpan().IndexOf((ReadOnlySpan<byte>)[0xFF, 0xC0]);
        BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(sof + 5), (ushort)height);
        BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(sof + 7), (ushort)width);
        return copy;
    }

    /// <summary>
    /// A baseline JPEG with four components (CMYK, flagged by an Adobe APP14 marker as Photoshop writes it) of one solid
    /// colour: every 8×8 block holds only a DC coefficient, coded with two small hand-made Huffman tables.
    /// </summary>
    public static byte[] CmykJpeg(int width, int height, byte c, byte m, byte y, byte k)
    {
        using var jpeg = new MemoryStream();
        void Segment(byte marker, byte[] payload)
        {
            jpeg.Write([0xFF, marker, (byte)((payload.Length + 2) >> 8), (byte)(payload.Length + 2)]);
            jpeg.Write(payload);
        }
        jpeg.Write([0xFF, 0xD8]);                                                         // SOI
        Segment(0xEE, [.. "Adobe"u8, 0, 100, 0, 0, 0, 0, 0]);                              // APP14, transform 0: CMYK as is
        Segment(0xDB, [0, .. Enumerable.Repeat((byte)8, 64)]);                            // one quantisation table of 8s
        Segment(0xC0, [8, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 4,
            1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0]);                             // SOF0: 4 components, no subsampling
        // DC table: categories 0..8, all with 4-bit codes 0000..1000. AC table: EOB (0x00) and 0x01 with 2-bit codes.
        Segment(0xC4, [0x00, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
        Segment(0xC4, [0x10, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01]);
        Segment(0xDA, [4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0]);                // SOS
        // A block's DC coefficient quantised by 8 is (sample − 128); it is coded as the difference to the previous block.
        int[] values = [c - 128, m - 128, y - 128, k - 128];
        var bits = new List<(int Value, int Length)>();
        int mcus = ((width + 7) / 8) * ((height + 7) / 8);
        for (int mcu = 0; mcu < mcus; mcu++)
            for (int component = 0; component < 4; component++)
            {
                int diff = mcu == 0 ? values[component] : 0;
                int category = diff == 0 ? 0 : 32 - int.LeadingZeroCount(Math.Abs(diff));
                bits.Add((category, 4));
                if (category > 0) bits.Add((diff > 0 ? diff : diff + (1 << category) - 1, category));
                bits.Add((0b00, 2));                                                       // EOB
            }
        int buffer = 0, count = 0;
        void Emit(byte b)
        {
            jpeg.WriteByte(b);
            if (b == 0xFF) jpeg.WriteByte(0);                                             // byte stuffing
        }
        foreach (var (value, length) in bits)
            for (int i = length - 1; i >= 0; i--)
            {
                buffer = (buffer << 1) | ((value >> i) & 1);
                if (++count == 8)
                {
                    Emit((byte)buffer);
                    (buffer, count) = (0, 0);
                }
            }
        if (count > 0) Emit((byte)((buffer << (8 - count)) | ((1 << (8 - count)) - 1)));  // pad with 1 bits
        jpeg.Write([0xFF, 0xD9]);                                                         // EOI
        return jpeg.ToArray();
    }
}

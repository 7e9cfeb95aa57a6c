namespace FsHealer.Text;

/// <summary>
/// Encodes one log line (without its newline) to the bytes a C program would have written for it.
/// <list type="bullet">
/// <item>Text is UTF-8.</item>
/// <item>Byte-exact paths: fshealer decodes bytes that are not valid UTF-8 (a mount point or file name may hold any
/// byte but '/' and NUL) to lone low surrogates U+DC80..U+DCFF ("surrogateescape"); each is written back as the
/// original byte 0x80..0xFF. Any other lone surrogate (not produced by that decoding) becomes U+FFFD.</item>
/// <item>Control characters (U+0000..U+001F, U+007F) are escaped C-style — \n, \t, \r, else \xNN — so that a newline
/// in a mount point or file name cannot forge a log line or a terminal escape reach the journal. A deliberate
/// difference from xfs_healer, which prints them raw (bench/README.md, README.md).</item>
/// </list>
/// Pure: no allocation, no system call.
/// </summary>
public static class LogLineEncoder
{
    /// <summary>The most bytes <paramref name="chars"/> characters can encode to (a control character takes 4: \xNN).</summary>
    public static int MaxBytes(int chars) => checked(chars * 4);

    /// <summary>Encode <paramref name="line"/> into <paramref name="dest"/>, which must hold <see cref="MaxBytes"/>
    /// bytes. Returns the number of bytes written.</summary>
    public static int Encode(ReadOnlySpan<char> line, Span<byte> dest)
    {
        // the common line: printable ASCII only — one vectorized scan and narrowing copy
        if (line.IndexOfAnyExceptInRange(' ', '~') < 0 &&
            System.Text.Ascii.FromUtf16(line, dest, out int written) == System.Buffers.OperationStatus.Done)
            return written;
        int o = 0;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c < 0x80)
            {
                if (c >= 0x20 && c != 0x7F)
                {
                    dest[o++] = (byte)c;
                    continue;
                }
                dest[o++] = (byte)'\\';
                switch (c)
                {
                    case '\n': dest[o++] = (byte)'n'; break;
                    case '\t': dest[o++] = (byte)'t'; break;
                    case '\r': dest[o++] = (byte)'r'; break;
                    default:
                        dest[o++] = (byte)'x';
                        dest[o++] = Hex(c >> 4);
                        dest[o++] = Hex(c & 0xF);
                        break;
                }
            }
            else if (c < 0x800)
            {
                dest[o++] = (byte)(0xC0 | (c >> 6));
                dest[o++] = (byte)(0x80 | (c & 0x3F));
            }
            else if (char.IsHighSurrogate(c) && i + 1 < line.Length && char.IsLowSurrogate(line[i + 1]))
            {
                int cp = char.ConvertToUtf32(c, line[++i]);
                dest[o++] = (byte)(0xF0 | (cp >> 18));
                dest[o++] = (byte)(0x80 | ((cp >> 12) & 0x3F));
                dest[o++] = (byte)(0x80 | ((cp >> 6) & 0x3F));
                dest[o++] = (byte)(0x80 | (cp & 0x3F));
            }
            else if (c >= 0xDC80 && c <= 0xDCFF)
            {
                dest[o++] = (byte)(c - 0xDC00);   // surrogateescape: the original byte
            }
            else
            {
                if (char.IsSurrogate(c)) c = '\uFFFD';
                dest[o++] = (byte)(0xE0 | (c >> 12));
                dest[o++] = (byte)(0x80 | ((c >> 6) & 0x3F));
                dest[o++] = (byte)(0x80 | (c & 0x3F));
            }
        }
        return o;
    }

    private static byte Hex(int v) => (byte)(v < 10 ? '0' + v : 'a' + v - 10);
}

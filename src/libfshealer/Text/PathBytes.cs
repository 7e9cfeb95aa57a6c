using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace FsHealer.Text;

/// <summary>
/// Names the kernel hands out (mount points, sources, file names) are bytes, not text: <c>x\xff</c> and
/// <c>x\uFFFD</c> (bytes 78 EF BF BD) are two different directories. fshealer carries such a name in a .NET string
/// without losing a byte, the way Python's "surrogateescape" does: valid UTF-8 decodes as usual, and every byte that
/// is not part of a valid UTF-8 sequence becomes the lone surrogate U+DC00 + byte (U+DC80..U+DCFF; only bytes
/// ≥ 0x80 can be invalid). <see cref="Encode"/> turns such a string back into exactly the bytes it came from, so
/// <c>Encode(Decode(b)) == b</c> for every byte sequence b, and strings are compared as what the kernel gave.
/// <para>Display: <see cref="Show"/> makes a name safe and unambiguous on one line of a log, terminal or journal
/// (reversible with <see cref="Unshow"/>). Storage that only keeps valid Unicode (SQLite TEXT through
/// Microsoft.Data.Sqlite, which encodes lone surrogates as U+FFFD) uses <see cref="ToStorage"/> /
/// <see cref="FromStorage"/>.</para>
/// </summary>
public static class PathBytes
{
    /// <summary>The first and last escape character: U+DC00 + 0x80 and U+DC00 + 0xFF.</summary>
    public const char FirstEscape = '\uDC80', LastEscape = '\uDCFF';

    /// <summary>Bytes → string: valid UTF-8 as usual, every other byte b as U+DC00 + b.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (Utf8.IsValid(bytes)) return Encoding.UTF8.GetString(bytes);
        var sb = new StringBuilder(bytes.Length);
        Span<char> two = stackalloc char[2];
        while (!bytes.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(bytes, out var rune, out int used);
            if (status == OperationStatus.Done)
            {
                sb.Append(two[..rune.EncodeToUtf16(two)]);
            }
            else
            {
                // InvalidData / NeedMoreData: 'used' bytes form the maximal invalid subsequence (at least one)
                used = Math.Max(used, 1);
                for (int i = 0; i < used; i++) sb.Append((char)(0xDC00 + bytes[i]));
            }
            bytes = bytes[used..];
        }
        return sb.ToString();
    }

    /// <summary>String → bytes: U+DC80..U+DCFF alone (not the low half of a surrogate pair) → that byte; any other
    /// lone surrogate → EF BF BD (U+FFFD, what UTF-8 encoding does); everything else → UTF-8. No terminating NUL.</summary>
    public static byte[] Encode(string s)
    {
        if (!HasSurrogate(s)) return Encoding.UTF8.GetBytes(s);
        var bytes = new byte[ByteCount(s)];
        Encode(s, bytes);
        return bytes;
    }

    /// <summary><see cref="Encode(string)"/> into <paramref name="into"/>, which must hold <see cref="ByteCount"/>
    /// bytes. Returns the number of bytes written.</summary>
    public static int Encode(ReadOnlySpan<char> s, Span<byte> into)
    {
        int i = 0, o = 0;
        while (i < s.Length)
        {
            // the longest run without surrogates goes through the UTF-8 encoder in one piece
            int run = s[i..].IndexOfAnyInRange('\uD800', '\uDFFF');
            if (run < 0) run = s.Length - i;
            if (run > 0)
            {
                o += Encoding.UTF8.GetBytes(s.Slice(i, run), into[o..]);
                i += run;
                continue;
            }
            char c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                o += Encoding.UTF8.GetBytes(s.Slice(i, 2), into[o..]);
                i += 2;
            }
            else if (c is >= FirstEscape and <= LastEscape)
            {
                into[o++] = (byte)(c - 0xDC00);
                i++;
            }
            else
            {
                into[o++] = 0xEF; into[o++] = 0xBF; into[o++] = 0xBD;
                i++;
            }
        }
        return o;
    }

    /// <summary>The encoded length in bytes (what <see cref="Encode"/> would return), without encoding.</summary>
    public static int ByteCount(ReadOnlySpan<char> s)
    {
        if (!HasSurrogate(s)) return Encoding.UTF8.GetByteCount(s);
        int n = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { n += 4; i++; }
            else if (c is >= FirstEscape and <= LastEscape) n++;
            else if (char.IsSurrogate(c)) n += 3;
            else n += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
        }
        return n;
    }

    /// <summary>True when <paramref name="s"/> holds a byte that is not valid UTF-8 (an escape U+DC80..U+DCFF that is
    /// not the low half of a surrogate pair).</summary>
    public static bool HasEscapedBytes(string s)
    {
        if (!HasSurrogate(s)) return false;
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (s[i] is >= FirstEscape and <= LastEscape) return true;
        }
        return false;
    }

    private static bool HasSurrogate(ReadOnlySpan<char> s) => s.IndexOfAnyInRange('\uD800', '\uDFFF') >= 0;

    /// <summary>Characters that <see cref="Show"/> escapes: C0 controls, DEL, C1 controls, line and paragraph
    /// separators, the bidirectional overrides/isolates (they reorder what follows on the line), lone surrogates, and
    /// the backslash itself.</summary>
    private static bool NeedsShowEscape(char c) =>
        c < 0x20 || c == '\\' || (c >= 0x7F && c <= 0x9F) || c is '\u2028' or '\u2029'
        || (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069') || char.IsSurrogate(c);

    /// <summary>
    /// A name (or a whole line of text holding names) for display: one line, no control characters, unambiguous.
    /// <c>\</c> → <c>\\</c>; newline, tab, carriage return → <c>\n</c> <c>\t</c> <c>\r</c>; other C0 controls and
    /// DEL → <c>\xNN</c>; an escaped byte (U+DC80..U+DCFF alone) → <c>\xNN</c> (its byte); C1 controls, U+2028/U+2029,
    /// bidirectional overrides and other lone surrogates → <c>\uXXXX</c>; everything else unchanged (so a real U+FFFD
    /// shows as U+FFFD and <c>x\xff</c> differs from <c>x�</c>). Reversible: <see cref="Unshow"/>.
    /// Returns the same instance when nothing needs escaping.
    /// </summary>
    public static string Show(string s)
    {
        int first = -1;
        for (int i = 0; i < s.Length; i++) if (NeedsShowEscape(s[i])) { first = i; break; }
        if (first < 0) return s;
        var sb = new StringBuilder(s.Length + 16);
        sb.Append(s, 0, first);
        for (int i = first; i < s.Length; i++)
        {
            char c = s[i];
            if (!NeedsShowEscape(c)) { sb.Append(c); continue; }
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                sb.Append(c).Append(s[i + 1]);
                i++;
                continue;
            }
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                default:
                    if (c < 0x20 || c == 0x7F) AppendHex(sb, "\\x", c, 2);
                    else if (c is >= FirstEscape and <= LastEscape) AppendHex(sb, "\\x", c - 0xDC00, 2);
                    else AppendHex(sb, "\\u", c, 4);
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>The inverse of <see cref="Show"/>: <c>\\</c>, <c>\n</c>, <c>\t</c>, <c>\r</c>, <c>\xNN</c> (NN &lt; 0x80:
    /// that character; ≥ 0x80: the escaped byte) and <c>\uXXXX</c>. A malformed escape is kept as it is.</summary>
    public static string Unshow(string s)
    {
        int first = s.IndexOf('\\');
        if (first < 0) return s;
        var sb = new StringBuilder(s.Length);
        sb.Append(s, 0, first);
        for (int i = first; i < s.Length; i++)
        {
            char c = s[i];
            if (c != '\\' || i + 1 >= s.Length) { sb.Append(c); continue; }
            char k = s[i + 1];
            switch (k)
            {
                case '\\': sb.Append('\\'); i++; continue;
                case 'n': sb.Append('\n'); i++; continue;
                case 't': sb.Append('\t'); i++; continue;
                case 'r': sb.Append('\r'); i++; continue;
                case 'x' when TryHex(s, i + 2, 2, out int b):
                    sb.Append(b < 0x80 ? (char)b : (char)(0xDC00 + b));
                    i += 3;
                    continue;
                case 'u' when TryHex(s, i + 2, 4, out int u):
                    sb.Append((char)u);
                    i += 5;
                    continue;
                default: sb.Append(c); continue;
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// For stores that keep only valid Unicode: <c>\</c> → <c>\\</c>, an escaped byte (U+DC80..U+DCFF alone) →
    /// <c>\xNN</c>, any other lone surrogate → <c>\uXXXX</c>; everything else (newlines included) unchanged. Text
    /// without backslashes or surrogates is stored as it is. Reversible: <see cref="FromStorage"/>.
    /// </summary>
    public static string ToStorage(string s)
    {
        int first = -1;
        for (int i = 0; i < s.Length; i++) if (s[i] == '\\' || char.IsSurrogate(s[i])) { first = i; break; }
        if (first < 0) return s;
        var sb = new StringBuilder(s.Length + 8);
        sb.Append(s, 0, first);
        for (int i = first; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '\\') sb.Append("\\\\");
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { sb.Append(c).Append(s[i + 1]); i++; }
            else if (c is >= FirstEscape and <= LastEscape) AppendHex(sb, "\\x", c - 0xDC00, 2);
            else if (char.IsSurrogate(c)) AppendHex(sb, "\\u", c, 4);
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>The inverse of <see cref="ToStorage"/>: <c>\\</c> → <c>\</c>, <c>\xNN</c> → U+DC00 + NN (NN ≥ 0x80),
    /// <c>\uXXXX</c> → that UTF-16 unit. Anything else after a backslash is kept as it is.</summary>
    public static string FromStorage(string s)
    {
        int first = s.IndexOf('\\');
        if (first < 0) return s;
        var sb = new StringBuilder(s.Length);
        sb.Append(s, 0, first);
        for (int i = first; i < s.Length; i++)
        {
            char c = s[i];
            if (c != '\\' || i + 1 >= s.Length) { sb.Append(c); continue; }
            char k = s[i + 1];
            if (k == '\\') { sb.Append('\\'); i++; }
            else if (k == 'x' && TryHex(s, i + 2, 2, out int b) && b >= 0x80) { sb.Append((char)(0xDC00 + b)); i += 3; }
            else if (k == 'u' && TryHex(s, i + 2, 4, out int u)) { sb.Append((char)u); i += 5; }
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// The exception the xfs_healer drop-in makes (it must print what the C program prints: a path's raw bytes):
    /// only control characters are escaped (<c>\n</c>, <c>\t</c>, <c>\r</c>, <c>\xNN</c> for other C0 and DEL,
    /// <c>\u0080</c>.. for C1, U+2028/U+2029 as <c>\u2028</c>/<c>\u2029</c>), so a name cannot add a line or send a
    /// terminal escape; backslashes and escaped bytes stay as they are (write the result with <see cref="Encode"/>).
    /// Not reversible. Returns the same instance when there is nothing to escape.
    /// </summary>
    public static string EscapeControls(string s)
    {
        static bool Control(char c) => c < 0x20 || (c >= 0x7F && c <= 0x9F) || c is '\u2028' or '\u2029';
        int first = -1;
        for (int i = 0; i < s.Length; i++) if (Control(s[i])) { first = i; break; }
        if (first < 0) return s;
        var sb = new StringBuilder(s.Length + 8);
        sb.Append(s, 0, first);
        for (int i = first; i < s.Length; i++)
        {
            char c = s[i];
            if (!Control(c)) sb.Append(c);
            else if (c == '\n') sb.Append("\\n");
            else if (c == '\t') sb.Append("\\t");
            else if (c == '\r') sb.Append("\\r");
            else if (c < 0x20 || c == 0x7F) AppendHex(sb, "\\x", c, 2);
            else AppendHex(sb, "\\u", c, 4);
        }
        return sb.ToString();
    }

    private static void AppendHex(StringBuilder sb, string prefix, int value, int digits) =>
        sb.Append(prefix).Append(value.ToString(digits == 2 ? "x2" : "x4", CultureInfo.InvariantCulture));

    private static bool TryHex(string s, int at, int digits, out int value)
    {
        value = 0;
        if (at + digits > s.Length) return false;
        for (int i = at; i < at + digits; i++)
        {
            int d = HexDigit(s[i]);
            if (d < 0) return false;
            value = value * 16 + d;
        }
        return true;
    }

    private static int HexDigit(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}

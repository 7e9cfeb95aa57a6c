using System.Globalization;

namespace FsHealer.Devices;

/// <summary>The block layer's <c>stat</c> file (Documentation/block/stat.rst): 11 fields, 15 with discards, 17 with flushes.</summary>
public readonly record struct BlockStat(ulong Reads, ulong SectorsRead, ulong Writes, ulong SectorsWritten, ulong InFlight, ulong IoTicksMs)
{
    public ulong Ios => Reads + Writes;
}

/// <summary>Pure decoders for sysfs block-device files. Garbage gives false/null, never an exception.</summary>
public static class BlockDecode
{
    /// <summary>A kernel number: "0x1f" / "0X1F" (hex, as the SCSI *_cnt files print) or decimal; surrounding
    /// whitespace and a trailing newline are allowed.</summary>
    public static bool TryParseNumber(string? text, out ulong value)
    {
        value = 0;
        if (text is null) return false;
        var s = text.AsSpan().Trim();
        if (s.Length > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
            return ulong.TryParse(s[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        return ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>A state word: the trimmed first line, if it is a plausible word (printable, no spaces, ≤ 64 chars).</summary>
    public static string? ParseState(string? text) => FirstLine(text, 64, c => c > ' ' && c <= '~');

    /// <summary>A short text value (dm name): trimmed first line, printable, ≤ 128 chars.</summary>
    public static string? ParseText(string? text) => FirstLine(text, 128, c => c >= ' ' && c != '\x7f');

    /// <summary>The trimmed first line of <paramref name="text"/> when it is 1..<paramref name="maxLength"/> characters,
    /// all <paramref name="allowed"/>; else null.</summary>
    private static string? FirstLine(string? text, int maxLength, Func<char, bool> allowed)
    {
        if (text is null) return null;
        var s = text.AsSpan();
        int nl = s.IndexOf('\n');
        if (nl >= 0) s = s[..nl];
        s = s.Trim();
        if (s.Length == 0 || s.Length > maxLength) return null;
        foreach (char c in s) if (!allowed(c)) return null;
        return s.ToString();
    }

    /// <summary>The <c>stat</c> file: at least 11 unsigned decimal fields separated by blanks.</summary>
    public static BlockStat? ParseStat(string? text)
    {
        if (text is null) return null;
        Span<ulong> f = stackalloc ulong[11];
        int n = 0;
        var t = text.AsSpan().Trim();
        foreach (var range in t.SplitAny(' ', '\t', '\n'))
        {
            var tok = t[range];
            if (tok.Length == 0) continue;
            if (!ulong.TryParse(tok, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v)) return null;
            if (n < f.Length) f[n] = v;
            n++;
        }
        if (n < 11) return null;
        return new BlockStat(f[0], f[2], f[4], f[6], f[8], f[9]);
    }

    /// <summary>"MAJ:MIN" (the <c>dev</c> file, or a /sys/dev/block entry name).</summary>
    public static bool TryParseDevNumber(string? text, out uint major, out uint minor)
    {
        major = minor = 0;
        if (text is null) return false;
        var s = text.AsSpan().Trim();
        int c = s.IndexOf(':');
        return c > 0
            && uint.TryParse(s[..c], NumberStyles.None, CultureInfo.InvariantCulture, out major)
            && uint.TryParse(s[(c + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out minor);
    }

    /// <summary>KEY=VALUE lines (a <c>uevent</c> file); malformed lines are skipped.</summary>
    public static Dictionary<string, string> ParseUevent(string? text)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        if (text is null) return d;
        foreach (var line in text.Split('\n'))
        {
            int eq = line.IndexOf('=');
            if (eq <= 0) continue;
            d[line[..eq].Trim()] = line[(eq + 1)..].Trim();
        }
        return d;
    }

    /// <summary>A loop device's <c>loop/backing_file</c>: the path, and whether the kernel marked it deleted
    /// (" (deleted)" suffix, d_path's convention). Null when empty or not an absolute path.</summary>
    public static (string Path, bool Deleted)? ParseBackingFile(string? text)
    {
        if (text is null) return null;
        var s = text.TrimEnd('\n');
        if (s.Length == 0 || s[0] != '/' || s.Contains('\0')) return null;
        const string del = " (deleted)";
        return s.EndsWith(del, StringComparison.Ordinal) ? (s[..^del.Length], true) : (s, false);
    }
}

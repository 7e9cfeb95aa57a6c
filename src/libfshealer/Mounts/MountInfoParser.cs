using FsHealer.Text;

namespace FsHealer.Mounts;

/// <summary>
/// Parses /proc/self/mountinfo (proc(5)): "ID PARENT MAJ:MIN ROOT POINT OPTS [optional...] - FSTYPE SOURCE SUPEROPTS".
/// The file is parsed as bytes: the kernel writes names as they are (show_mountinfo() in fs/proc_namespace.c), only
/// escaping space, tab, newline and backslash as \ooo (mangle()), so the octal escapes are decoded to bytes and the
/// result is decoded byte-exactly with <see cref="PathBytes.Decode"/> (a mount point that is not UTF-8 keeps its
/// bytes). Bad lines give a diagnostic naming the line number and are skipped; nothing throws.
/// </summary>
public static class MountInfoParser
{
    /// <summary>Lines longer than this are rejected (the kernel never produces them; garbage protection).</summary>
    public const int MaxLineLength = 64 * 1024;

    /// <summary>Every line of the file's bytes.</summary>
    public static List<MountEntry> ParseAll(ReadOnlySpan<byte> text, List<string> diagnostics)
    {
        var result = new List<MountEntry>();
        int lineNo = 0;
        while (!text.IsEmpty)
        {
            lineNo++;
            int nl = text.IndexOf((byte)'\n');
            var raw = nl < 0 ? text : text[..nl];
            text = nl < 0 ? default : text[(nl + 1)..];
            if (raw.IsEmpty) continue;
            var e = ParseLine(raw, out string? err);
            if (e is not null) result.Add(e);
            else diagnostics.Add($"mountinfo line {lineNo}: {err}");
        }
        return result;
    }

    /// <summary><see cref="ParseAll(ReadOnlySpan{byte}, List{string})"/> of a string (tests; a string from
    /// <see cref="PathBytes.Decode"/> gives exactly the same result as the bytes it came from).</summary>
    public static List<MountEntry> ParseAll(string text, List<string> diagnostics) => ParseAll(PathBytes.Encode(text), diagnostics);

    public static MountEntry? ParseLine(string line, out string? error) => ParseLine(PathBytes.Encode(line), out error);

    public static MountEntry? ParseLine(ReadOnlySpan<byte> line, out string? error)
    {
        error = null;
        if (line.Length > MaxLineLength) { error = $"line of {line.Length} bytes is too long"; return null; }
        var f = new List<Range>(12);
        int start = 0;
        for (int i = 0; i <= line.Length; i++)
            if (i == line.Length || line[i] == (byte)' ') { f.Add(start..i); start = i + 1; }
        if (f.Count < 10) { error = $"only {f.Count} fields, need at least 10"; return null; }
        int sep = -1;
        for (int i = 6; i < f.Count; i++) if (line[f[i]] is [(byte)'-']) { sep = i; break; }
        if (sep < 0) { error = "no \" - \" separator after the optional fields"; return null; }
        if (f.Count - sep - 1 < 3) { error = "fewer than 3 fields after the \" - \" separator"; return null; }
        if (!uint.TryParse(line[f[0]], out uint id)) { error = $"bad mount id \"{Trim(PathBytes.Decode(line[f[0]]))}\""; return null; }
        if (!uint.TryParse(line[f[1]], out uint parent)) { error = $"bad parent id \"{Trim(PathBytes.Decode(line[f[1]]))}\""; return null; }
        var dev = line[f[2]];
        int colon = dev.IndexOf((byte)':');
        if (colon < 0 || !uint.TryParse(dev[..colon], out uint maj) || !uint.TryParse(dev[(colon + 1)..], out uint min))
        { error = $"bad device number \"{Trim(PathBytes.Decode(line[f[2]]))}\""; return null; }
        string root = Unescape(line[f[3]]), point = Unescape(line[f[4]]);
        if (root.Length == 0 || point.Length == 0) { error = "empty root or mount point"; return null; }
        string mntOpts = PathBytes.Decode(line[f[5]]);
        string fstype = Unescape(line[f[sep + 1]]);
        string subtype = "";
        int dot = fstype.IndexOf('.');
        if (dot > 0) { subtype = fstype[(dot + 1)..]; fstype = fstype[..dot]; }
        string source = Unescape(line[f[sep + 2]]);
        string superOpts = Unescape(line[f[sep + 3].Start..]);
        bool mntRo = HasOption(mntOpts, "ro"), sbRo = HasOption(superOpts, "ro");
        return new MountEntry
        {
            LegacyId = id,
            ParentLegacyId = parent,
            DevMajor = maj,
            DevMinor = min,
            MntRoot = root,
            MountPoint = point,
            MountOptions = mntOpts,
            MntAttr = mntRo ? 1UL : 0,
            FsType = fstype,
            FsSubtype = subtype,
            Source = source,
            SuperOptions = superOpts,
            SbFlags = sbRo ? StatmountAbi.SB_RDONLY : 0,
        };
    }

    /// <summary>The topmost (last listed) mount at <paramref name="mountPoint"/>, or null. A trailing '/' is ignored
    /// ("/mnt/x/" finds "/mnt/x"; "/" stays "/"). Later mounts hide earlier ones at the same place, and mountinfo lists
    /// them in mount order, so the last match is the one a path lookup reaches. Names compare as bytes (ordinal, on
    /// strings decoded byte-exactly).</summary>
    public static MountEntry? FindTopmost(IEnumerable<MountEntry> entries, string mountPoint)
    {
        mountPoint = mountPoint.Length > 1 ? mountPoint.TrimEnd('/') : mountPoint;
        MountEntry? found = null;
        foreach (var e in entries) if (string.Equals(e.MountPoint, mountPoint, StringComparison.Ordinal)) found = e;
        return found;
    }

    private static bool HasOption(string opts, string name)
    {
        foreach (var o in opts.Split(','))
            if (o == name) return true;
        return false;
    }

    private static string Trim(string s) => s.Length > 40 ? s[..40] + "..." : s;

    /// <summary>Decode \ooo octal escapes to the byte they stand for; anything else (including a malformed escape) is
    /// kept literally. The bytes are decoded with <see cref="PathBytes.Decode"/>.</summary>
    public static string Unescape(ReadOnlySpan<byte> s)
    {
        if (s.IndexOf((byte)'\\') < 0) return PathBytes.Decode(s);
        var bytes = new byte[s.Length];
        int n = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == (byte)'\\' && IsOct(s, i + 1) && IsOct(s, i + 2) && IsOct(s, i + 3))
            {
                int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
                if (v <= 255) { bytes[n++] = (byte)v; i += 3; continue; }
            }
            bytes[n++] = s[i];
        }
        return PathBytes.Decode(bytes.AsSpan(0, n));
    }

    /// <summary><see cref="Unescape(ReadOnlySpan{byte})"/> of a string (its bytes, <see cref="PathBytes.Encode"/>).</summary>
    public static string Unescape(string s) => s.IndexOf('\\') < 0 ? s : Unescape(PathBytes.Encode(s));

    private static bool IsOct(ReadOnlySpan<byte> s, int i) => i < s.Length && s[i] >= '0' && s[i] <= '7';
}

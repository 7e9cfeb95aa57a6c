using System.Text;

namespace FsHealer.Mounts;

/// <summary>
/// Parses /proc/self/mountinfo (proc(5)): "ID PARENT MAJ:MIN ROOT POINT OPTS [optional...] - FSTYPE SOURCE SUPEROPTS".
/// Octal escapes (\040 space, \011 tab, \012 newline, \134 backslash) are decoded. Bad lines give a diagnostic
/// naming the line number and are skipped; nothing throws.
/// </summary>
public static class MountInfoParser
{
    /// <summary>Lines longer than this are rejected (the kernel never produces them; garbage protection).</summary>
    public const int MaxLineLength = 64 * 1024;

    public static List<MountEntry> ParseAll(string text, List<string> diagnostics)
    {
        var result = new List<MountEntry>();
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            if (raw.Length == 0) continue;
            var e = ParseLine(raw, out string? err);
            if (e is not null) result.Add(e);
            else diagnostics.Add($"mountinfo line {lineNo}: {err}");
        }
        return result;
    }

    public static MountEntry? ParseLine(string line, out string? error)
    {
        error = null;
        if (line.Length > MaxLineLength) { error = $"line of {line.Length} characters is too long"; return null; }
        var f = line.Split(' ');
        if (f.Length < 10) { error = $"only {f.Length} fields, need at least 10"; return null; }
        int sep = Array.IndexOf(f, "-", 6);
        if (sep < 0) { error = "no \" - \" separator after the optional fields"; return null; }
        if (f.Length - sep - 1 < 3) { error = "fewer than 3 fields after the \" - \" separator"; return null; }
        if (!uint.TryParse(f[0], out uint id)) { error = $"bad mount id \"{Trim(f[0])}\""; return null; }
        if (!uint.TryParse(f[1], out uint parent)) { error = $"bad parent id \"{Trim(f[1])}\""; return null; }
        int colon = f[2].IndexOf(':');
        if (colon < 0 || !uint.TryParse(f[2].AsSpan(0, colon), out uint maj) || !uint.TryParse(f[2].AsSpan(colon + 1), out uint min))
        { error = $"bad device number \"{Trim(f[2])}\""; return null; }
        string root = Unescape(f[3]), point = Unescape(f[4]);
        if (root.Length == 0 || point.Length == 0) { error = "empty root or mount point"; return null; }
        string mntOpts = f[5];
        string fstype = Unescape(f[sep + 1]);
        string subtype = "";
        int dot = fstype.IndexOf('.');
        if (dot > 0) { subtype = fstype[(dot + 1)..]; fstype = fstype[..dot]; }
        string source = Unescape(f[sep + 2]);
        string superOpts = Unescape(string.Join(' ', f, sep + 3, f.Length - sep - 3));
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
    /// them in mount order, so the last match is the one a path lookup reaches.</summary>
    public static MountEntry? FindTopmost(IEnumerable<MountEntry> entries, string mountPoint)
    {
        mountPoint = mountPoint.Length > 1 ? mountPoint.TrimEnd('/') : mountPoint;
        MountEntry? found = null;
        foreach (var e in entries) if (e.MountPoint == mountPoint) found = e;
        return found;
    }

    private static bool HasOption(string opts, string name)
    {
        foreach (var o in opts.Split(','))
            if (o == name) return true;
        return false;
    }

    private static string Trim(string s) => s.Length > 40 ? s[..40] + "..." : s;

    /// <summary>Decode \ooo octal escapes; anything else (including a malformed escape) is kept literally.</summary>
    public static string Unescape(string s)
    {
        if (s.IndexOf('\\') < 0) return s;
        var bytes = new List<byte>(s.Length);
        Span<byte> tmp = stackalloc byte[4];
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '\\'
                && IsOct(s, i + 1) && IsOct(s, i + 2) && IsOct(s, i + 3))
            {
                int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
                if (v <= 255) { bytes.Add((byte)v); i += 3; continue; }
            }
            int n = Encoding.UTF8.GetBytes(s.AsSpan(i, char.IsHighSurrogate(c) && i + 1 < s.Length ? 2 : 1), tmp);
            for (int k = 0; k < n; k++) bytes.Add(tmp[k]);
            if (char.IsHighSurrogate(c) && i + 1 < s.Length) i++;
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool IsOct(string s, int i) => i < s.Length && s[i] >= '0' && s[i] <= '7';
}

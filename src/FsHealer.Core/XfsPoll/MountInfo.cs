using System.Text;

namespace FsHealer.Core.XfsPoll;

/// <summary>One line of /proc/self/mountinfo (the fields the poller and the offline repair ladder need).</summary>
public sealed record MountInfoEntry(int MountId, int ParentId, string MajorMinor, string Root, string MountPoint,
    string MountOptions, string FsType, string Source, string SuperOptions);

/// <summary>Parses /proc/self/mountinfo text. Pure; malformed lines are skipped.</summary>
public static class MountInfo
{
    public static List<MountInfoEntry> Parse(string text)
    {
        var list = new List<MountInfoEntry>();
        foreach (var line in text.Split('\n'))
            if (TryParseLine(line, out var e)) list.Add(e!);
        return list;
    }

    public static bool TryParseLine(string line, out MountInfoEntry? entry)
    {
        entry = null;
        var f = line.Split(' ');
        int sep = Array.IndexOf(f, "-");
        if (f.Length < 10 || sep < 6 || sep + 2 >= f.Length) return false;
        if (!int.TryParse(f[0], out int id) || !int.TryParse(f[1], out int parent)) return false;
        entry = new MountInfoEntry(id, parent, f[2], Unescape(f[3]), Unescape(f[4]), f[5], f[sep + 1], Unescape(f[sep + 2]),
            sep + 3 < f.Length ? f[sep + 3] : "");
        return true;
    }

    /// <summary>The last (topmost) mount at this mount point, or null.</summary>
    public static MountInfoEntry? Find(IEnumerable<MountInfoEntry> entries, string mountPoint)
    {
        mountPoint = mountPoint.Length > 1 ? mountPoint.TrimEnd('/') : mountPoint;
        MountInfoEntry? found = null;
        foreach (var e in entries) if (e.MountPoint == mountPoint) found = e;
        return found;
    }

    /// <summary>Undo the kernel's octal escaping (\040 space, \011 tab, \012 newline, \134 backslash).</summary>
    public static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var bytes = new List<byte>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 4 <= s.Length
                && IsOct(s[i + 1]) && IsOct(s[i + 2]) && IsOct(s[i + 3]))
            {
                bytes.Add((byte)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0')));
                i += 3;
            }
            else bytes.AddRange(Encoding.UTF8.GetBytes(s[i].ToString()));
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool IsOct(char c) => c is >= '0' and <= '7';

    /// <summary>The kernel's short device name for a mount source ("/dev/loop3" → "loop3"), as XFS prints it.</summary>
    public static string KernelDeviceName(string source) =>
        source.StartsWith("/dev/", StringComparison.Ordinal) ? source[5..] : source;
}

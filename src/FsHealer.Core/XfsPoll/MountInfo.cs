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

    /// <summary>One line, through the mount tracker's parser (one mountinfo grammar for the whole daemon).</summary>
    public static bool TryParseLine(string line, out MountInfoEntry? entry)
    {
        entry = null;
        var m = Mounts.MountInfoParser.ParseLine(line, out _);
        if (m is null || m.LegacyId > int.MaxValue || m.ParentLegacyId > int.MaxValue) return false;
        entry = new MountInfoEntry((int)m.LegacyId, (int)m.ParentLegacyId, $"{m.DevMajor}:{m.DevMinor}", m.MntRoot, m.MountPoint,
            m.MountOptions, m.FsSubtype.Length > 0 ? $"{m.FsType}.{m.FsSubtype}" : m.FsType, m.Source, m.SuperOptions);
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
    public static string Unescape(string s) => Mounts.MountInfoParser.Unescape(s);

    /// <summary>The kernel's short device name for a mount source ("/dev/loop3" → "loop3"), as XFS prints it.</summary>
    public static string KernelDeviceName(string source) =>
        source.StartsWith("/dev/", StringComparison.Ordinal) ? source[5..] : source;
}

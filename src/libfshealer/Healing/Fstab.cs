using FsHealer.Mounts;

namespace FsHealer.Healing;

/// <summary>One line of fstab(5): what (<see cref="Spec"/>: a device path, UUID=, LABEL=, PARTUUID=, PARTLABEL=), where
/// (<see cref="Target"/>), the type and the options as written. <see cref="Line"/> is its 1-based line number.</summary>
public sealed record FstabEntry(string Spec, string Target, string FsType, string Options, int Line)
{
    /// <summary>The tag of a tagged spec ("UUID", "LABEL", "PARTUUID", "PARTLABEL", "ID") and its value; (null, spec) for a path.</summary>
    public (string? Tag, string Value) Tagged
    {
        get
        {
            int eq = Spec.IndexOf('=');
            if (eq <= 0 || Spec[0] == '/') return (null, Spec);
            string tag = Spec[..eq].ToUpperInvariant();
            string v = Spec[(eq + 1)..];
            if (v.Length >= 2 && (v[0] == '"' && v[^1] == '"' || v[0] == '\'' && v[^1] == '\'')) v = v[1..^1];
            return (tag, v);
        }
    }
}

/// <summary>What is known about an unmounted device, to find its fstab line: its device number (st_rdev) and the UUID its
/// superblock carries.</summary>
public sealed record DeviceFacts(ulong Rdev, Guid? Uuid);

/// <summary>
/// fstab(5), pure: parse the text (fields separated by blanks, octal escapes \040 \011 \012 \134 as in mountinfo,
/// '#' comments) and find the line of a device — by UUID= (the superblock's UUID, compared case-insensitively), or by
/// a spec that names a path (a device node, a /dev/disk/by-* link) or a tag that udev resolves to a path (LABEL=,
/// PARTUUID=, PARTLABEL= → /dev/disk/by-label/…, …) and that resolves to the same device number. The resolution is the
/// caller's (<c>resolve</c>: path → st_rdev of the block device there, or null). Swap and "none" lines never match.
/// </summary>
public static class Fstab
{
    /// <summary>Tags that udev publishes as links under /dev/disk (util-linux mount resolves them the same way).</summary>
    public static readonly IReadOnlyDictionary<string, string> TagLinkDirs = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["UUID"] = "/dev/disk/by-uuid/", ["LABEL"] = "/dev/disk/by-label/", ["PARTUUID"] = "/dev/disk/by-partuuid/",
        ["PARTLABEL"] = "/dev/disk/by-partlabel/", ["ID"] = "/dev/disk/by-id/",
    };

    public static List<FstabEntry> Parse(string text, List<string>? problems = null)
    {
        var list = new List<FstabEntry>();
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string l = lines[i].Trim();
            if (l.Length == 0 || l[0] == '#') continue;
            var f = l.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 3) { problems?.Add($"line {i + 1}: fewer than 3 fields"); continue; }
            list.Add(new FstabEntry(MountInfoParser.Unescape(f[0]), MountInfoParser.Unescape(f[1]), MountInfoParser.Unescape(f[2]),
                f.Length > 3 ? MountInfoParser.Unescape(f[3]) : "defaults", i + 1));
        }
        return list;
    }

    /// <summary>The path a spec names for <paramref name="resolve"/>: the path itself, or the udev link of a tag.</summary>
    public static string? PathOf(FstabEntry e)
    {
        var (tag, v) = e.Tagged;
        if (tag is null) return v.StartsWith('/') ? v : null;
        if (v.Length == 0 || v.Contains('/')) return null;
        return TagLinkDirs.TryGetValue(tag, out var dir) ? dir + v : null;
    }

    /// <summary>The first fstab line of the device (in file order), or null; <paramref name="why"/> says how it matched
    /// or why none did.</summary>
    public static FstabEntry? Find(IReadOnlyList<FstabEntry> entries, DeviceFacts dev, Func<string, ulong?> resolve, out string why)
    {
        foreach (var e in entries)
        {
            if (e.FsType is "swap" || e.Target is "none" or "swap" || !e.Target.StartsWith('/')) continue;
            var (tag, v) = e.Tagged;
            if (tag == "UUID" && dev.Uuid is { } u && Guid.TryParse(v, out var g) && g == u)
            {
                why = $"line {e.Line}: UUID={v} is the UUID on its superblock";
                return e;
            }
            if (tag == "UUID") continue;   // another UUID (or an unreadable one): never by a link that may be stale
            if (PathOf(e) is { } p && resolve(p) is { } rdev && rdev == dev.Rdev)
            {
                why = $"line {e.Line}: {e.Spec} is this device";
                return e;
            }
        }
        why = dev.Uuid is { } uu ? $"no line names UUID={uu:D} or this device" : "no line names this device";
        return null;
    }
}

using System.Globalization;

namespace FsHealer.Devices;

/// <summary>One LVM logical volume as <c>lvs</c> reports it (<see cref="Lvm.LvsArgs"/>): its volume group, its name,
/// the free space left in the group (bytes) and its lv_attr string (lvs(8): char 1 the volume type, char 5 the state).</summary>
public sealed record LvmVolume(string Vg, string Lv, long VgFreeBytes, string Attr)
{
    /// <summary>lv_attr volume type 's' (snapshot) or 'S' (merging snapshot): a snapshot is not itself snapshotted.</summary>
    public bool IsSnapshot => Attr.Length > 0 && Lvm.SnapshotTypes.Contains(Attr[0]);
    /// <summary>lv_attr state 'I' (invalid snapshot: it overflowed) or 'S' (invalid suspended snapshot).</summary>
    public bool IsInvalidSnapshot => Attr.Length > 4 && Lvm.InvalidSnapshotStates.Contains(Attr[4]);
}

/// <summary>
/// LVM facts, pure: is a block device an LVM logical volume (its device-mapper uuid, sysfs <c>dm/uuid</c>, starts with
/// "LVM-"), which one (sysfs <c>dm/name</c>: VG and LV joined by '-', a '-' inside either doubled), and what
/// <c>lvs</c> says about it. The tools themselves run elsewhere (the live heal host, through the tool runner).
/// </summary>
public static class Lvm
{
    /// <summary>The device-mapper uuid prefix of every LVM device (lib/misc/lvm-string / libdm: "LVM-" + VG uuid + LV
    /// uuid, a "-real"/"-cow"/"-pool" suffix on the hidden layers).</summary>
    public const string DmUuidPrefix = "LVM-";
    /// <summary>An LVM uuid is 32 characters without dashes (the VG's) + 32 (the LV's).</summary>
    private const int UuidChars = 64;
    /// <summary>LV names are at most 127 characters (NAME_LEN 128 with the terminator).</summary>
    public const int MaxNameLength = 127;

    public static readonly IReadOnlySet<char> SnapshotTypes = new HashSet<char> { 's', 'S' };
    public static readonly IReadOnlySet<char> InvalidSnapshotStates = new HashSet<char> { 'I', 'S' };

    /// <summary>lvs fields, in order: what the snapshot check needs to know about an LV.</summary>
    public static readonly string[] LvsFields = ["vg_name", "lv_name", "vg_free", "lv_attr"];
    private const char Separator = '|';

    /// <summary>lvs arguments: no header, plain bytes without a unit suffix, one separator that LVM names cannot contain.</summary>
    public static string[] LvsArgs(string vg, string lv) =>
        ["--noheadings", "--nosuffix", "--units", "b", "--separator", Separator.ToString(), "-o", string.Join(',', LvsFields), $"{vg}/{lv}"];

    /// <summary>An LV itself (not one of its hidden layers: "-real", "-cow", "-pool", ... add a suffix after the uuids).</summary>
    public static bool IsLogicalVolumeUuid(string? dmUuid)
    {
        if (dmUuid is null) return false;
        var u = dmUuid.AsSpan().Trim();
        return u.StartsWith(DmUuidPrefix, StringComparison.Ordinal) && u.Length == DmUuidPrefix.Length + UuidChars;
    }

    /// <summary>"vg--a-lv--b" → ("vg-a", "lv-b"): the first single '-' separates; "--" is a '-' inside a name. Null
    /// when the name does not split into two non-empty halves.</summary>
    public static (string Vg, string Lv)? SplitDmName(string? dmName)
    {
        if (dmName is null) return null;
        var s = dmName.Trim();
        var vg = new System.Text.StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] != '-') { vg.Append(s[i]); continue; }
            if (i + 1 < s.Length && s[i + 1] == '-') { vg.Append('-'); i++; continue; }
            string lv = s[(i + 1)..].Replace("--", "-", StringComparison.Ordinal);
            return vg.Length > 0 && lv.Length > 0 ? (vg.ToString(), lv) : null;
        }
        return null;
    }

    /// <summary>The LV behind block device <paramref name="majMin"/> ("253:3") from sysfs, or null when it is not an
    /// LVM logical volume.</summary>
    public static (string Vg, string Lv)? Identify(ISysfsView sysfs, string majMin)
    {
        if (!IsLogicalVolumeUuid(sysfs.Read($"dev/block/{majMin}/dm/uuid"))) return null;
        return SplitDmName(sysfs.Read($"dev/block/{majMin}/dm/name"));
    }

    /// <summary>The row of <paramref name="vg"/>/<paramref name="lv"/> in the output of <c>lvs</c> with
    /// <see cref="LvsArgs"/> (warnings on other lines are skipped); null with the reason otherwise.</summary>
    public static LvmVolume? ParseLvs(string output, string vg, string lv, out string? error)
    {
        error = null;
        foreach (var raw in output.Split('\n'))
        {
            var f = raw.Trim().Split(Separator);
            if (f.Length != LvsFields.Length) continue;
            if (f[0].Trim() != vg || f[1].Trim() != lv) continue;
            var free = f[2].Trim();
            // some lvm versions print a trailing "B" even with --nosuffix on old releases; accept it
            if (free.EndsWith('B')) free = free[..^1];
            if (!long.TryParse(free, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes))
            {
                error = $"lvs: cannot read the free space of volume group {vg}: \"{f[2].Trim()}\"";
                return null;
            }
            return new LvmVolume(vg, lv, bytes, f[3].Trim());
        }
        var first = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        error = $"lvs did not list {vg}/{lv}" + (first is null ? "" : $": {first}");
        return null;
    }

    /// <summary>The name of the check snapshot of <paramref name="lv"/>: fixed per LV, so that a snapshot left behind
    /// (the daemon was killed) is found and removed before the next check.</summary>
    public static string SnapshotName(string lv, string suffix) => lv + suffix;

    /// <summary>Why <paramref name="name"/> cannot be an LV name, or null (lvm(8) VALID NAMES: up to 127 characters of
    /// a-z A-Z 0-9 + _ . -, not starting with '-', not "." or "..").</summary>
    public static string? InvalidName(string name)
    {
        if (name.Length == 0 || name.Length > MaxNameLength) return $"the LV name \"{name}\" would be {name.Length} characters (at most {MaxNameLength})";
        if (name[0] == '-' || name is "." or "..") return $"\"{name}\" is not a valid LV name";
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '+' or '_' or '.' or '-')) return $"\"{name}\" is not a valid LV name (character '{c}')";
        return null;
    }
}

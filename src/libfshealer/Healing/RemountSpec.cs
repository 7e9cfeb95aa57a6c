using FsHealer.Mounts;

namespace FsHealer.Healing;

/// <summary>
/// How to mount a filesystem again exactly as it was: mount(2)'s flags from the per-mount options mountinfo shows,
/// and the filesystem's own options as the data string, without the options that only report state. Kernel facts
/// as data (include/uapi/linux/mount.h, fs/proc_namespace.c show_mnt_opts / show_sb_opts).
/// </summary>
public sealed record RemountSpec(string FsType, ulong Flags, string Data, string OptionsText)
{
    public const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_SYNCHRONOUS = 16, MS_MANDLOCK = 64,
        MS_DIRSYNC = 128, MS_NOSYMFOLLOW = 256, MS_NOATIME = 1024, MS_NODIRATIME = 2048, MS_SILENT = 32768,
        MS_RELATIME = 1 << 21, MS_STRICTATIME = 1 << 24, MS_LAZYTIME = 1 << 25;

    /// <summary>Per-mount options as /proc/self/mountinfo prints them → mount(2) flags. "rw" and "relatime"/"strictatime"
    /// are explicit so that what comes back is what was there.</summary>
    public static readonly IReadOnlyDictionary<string, ulong> MountFlags = new Dictionary<string, ulong>(StringComparer.Ordinal)
    {
        ["ro"] = MS_RDONLY, ["rw"] = 0, ["nosuid"] = MS_NOSUID, ["nodev"] = MS_NODEV, ["noexec"] = MS_NOEXEC,
        ["sync"] = MS_SYNCHRONOUS, ["dirsync"] = MS_DIRSYNC, ["mand"] = MS_MANDLOCK, ["nosymfollow"] = MS_NOSYMFOLLOW,
        ["noatime"] = MS_NOATIME, ["nodiratime"] = MS_NODIRATIME, ["relatime"] = MS_RELATIME, ["strictatime"] = MS_STRICTATIME,
        ["lazytime"] = MS_LAZYTIME, ["silent"] = MS_SILENT,
    };

    /// <summary>Superblock options that report state (never passed back) or that mount(2) takes as flags.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> StateOnly = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        // ext4 adds emergency_ro / shutdown after errors; seclabel is shown by the security module
        ["ext4"] = ["emergency_ro", "shutdown", "seclabel"],
        // XFS prints attr2/noattr2 (deprecated as mount options), and may print the default logbufs/logbsize
        ["xfs"] = ["attr2", "noattr2", "seclabel"],
        ["btrfs"] = ["seclabel"],
    };

    public static RemountSpec From(MountEntry m)
    {
        ulong flags = 0;
        var text = new List<string>();
        foreach (var o in m.MountOptions.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (MountFlags.TryGetValue(o, out var f)) flags |= f;
            if (!text.Contains(o)) text.Add(o);
        }
        var skip = StateOnly.GetValueOrDefault(m.FsType) ?? [];
        var data = new List<string>();
        foreach (var o in m.SuperOptions.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (o is "rw") continue;
            if (o is "ro") { flags |= MS_RDONLY; continue; }      // a read-only superblock comes back read-only
            if (MountFlags.TryGetValue(o, out var f)) { flags |= f; continue; }
            if (skip.Contains(o) || data.Contains(o)) continue;
            data.Add(o);
            if (!text.Contains(o)) text.Add(o);
        }
        return new RemountSpec(m.FullFsType, flags, string.Join(',', data), string.Join(',', text));
    }

    /// <summary>fstab(5)/mount(8) options that mount(2) never sees: what util-linux keeps for itself (auto, user, nofail,
    /// x-systemd.*, comment=, loop setup) and the defaults that only clear a flag.</summary>
    public static readonly IReadOnlySet<string> UserspaceOnly = new HashSet<string>(StringComparer.Ordinal)
    {
        "defaults", "auto", "noauto", "user", "nouser", "users", "owner", "group", "nofail", "_netdev", "loop",
        "suid", "dev", "exec", "async", "atime", "diratime", "nomand", "nostrictatime", "nolazytime", "symfollow",
    };

    private static bool IsUserspaceOnly(string o) =>
        UserspaceOnly.Contains(o) || o.StartsWith("x-", StringComparison.Ordinal) || o.StartsWith("X-", StringComparison.Ordinal)
        || o.StartsWith("comment=", StringComparison.Ordinal) || o.StartsWith("offset=", StringComparison.Ordinal)
        || o.StartsWith("sizelimit=", StringComparison.Ordinal) || o.StartsWith("loop=", StringComparison.Ordinal)
        || o.StartsWith("helper=", StringComparison.Ordinal) || o.StartsWith("encryption=", StringComparison.Ordinal);

    /// <summary>The mount an fstab line describes (type <paramref name="fsType"/>: the line's own type unless it says
    /// "auto"): mount(2) flags from the per-mount options, the rest as the filesystem's data string;
    /// <see cref="OptionsText"/> keeps the line's options as written (for mount(8), the fallback).</summary>
    public static RemountSpec FromFstab(string fsType, string options)
    {
        ulong flags = 0;
        var data = new List<string>();
        var text = new List<string>();
        foreach (var o in options.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!text.Contains(o)) text.Add(o);
            if (MountFlags.TryGetValue(o, out var f)) { flags |= f; continue; }
            if (IsUserspaceOnly(o) || data.Contains(o)) continue;
            data.Add(o);
        }
        // mount(8) never gets "defaults" alone as the only thing to say: drop it from the text when there is more
        if (text.Count > 1) text.Remove("defaults");
        return new RemountSpec(fsType, flags, string.Join(',', data), string.Join(',', text));
    }
}

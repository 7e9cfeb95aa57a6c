namespace FsHealer.Core.Ext4;

/// <summary>ext4's errors= behaviour.</summary>
public enum Ext4ErrorsPolicy { Default, Continue, RemountRo, Panic }

/// <summary>
/// ext4 state that only the mount options show: the errors= policy, the emergency read-only state after an error
/// (statvfs still says rw) and the shutdown state.
/// </summary>
public sealed record Ext4MountOptions(IReadOnlyList<string> Options)
{
    /// <summary>Options the kernel adds to report state; they must not be passed back to mount.</summary>
    public static readonly string[] StateOnlyOptions = ["emergency_ro", "shutdown", "seclabel"];

    private static readonly Dictionary<string, Ext4ErrorsPolicy> Policies = new()
    {
        ["errors=continue"] = Ext4ErrorsPolicy.Continue,
        ["errors=remount-ro"] = Ext4ErrorsPolicy.RemountRo,
        ["errors=panic"] = Ext4ErrorsPolicy.Panic,
    };

    public static Ext4MountOptions Parse(string? options) =>
        new((options ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>Combine mountinfo's per-mount and superblock options (per-mount first, duplicates dropped).</summary>
    public static Ext4MountOptions Combine(string mountOptions, string superOptions)
    {
        var list = new List<string>();
        foreach (var o in Parse(mountOptions).Options.Concat(Parse(superOptions).Options))
        {
            if (list.Contains(o)) continue;
            if ((o == "rw" && list.Contains("ro")) || (o == "ro" && list.Contains("rw"))) continue;
            list.Add(o);
        }
        return new(list);
    }

    public Ext4ErrorsPolicy ErrorsPolicy
    {
        get
        {
            var p = Ext4ErrorsPolicy.Default;
            foreach (var o in Options) if (Policies.TryGetValue(o, out var v)) p = v;
            return p;
        }
    }

    public bool EmergencyReadOnly => Options.Contains("emergency_ro");
    public bool Shutdown => Options.Contains("shutdown");
    public bool ReadOnly => Options.Contains("ro") || EmergencyReadOnly;

    /// <summary>The options to remount with: everything except the kernel's state-only options.</summary>
    public string ForRemount() => string.Join(',', Options.Where(o => !StateOnlyOptions.Contains(o)));

    public override string ToString() => string.Join(',', Options);
}

/// <summary>One line of /proc/self/mountinfo (only what ext4 healing needs).</summary>
public sealed record MountInfoEntry(int MountId, uint Major, uint Minor, string Root, string MountPoint, string MountOptions,
    string FsType, string Source, string SuperOptions)
{
    public Ext4MountOptions Options => Ext4MountOptions.Combine(MountOptions, SuperOptions);

    /// <summary>Parse mountinfo text; malformed lines are skipped (and counted in <paramref name="bad"/>).</summary>
    public static List<MountInfoEntry> ParseAll(string text, out int bad)
    {
        var list = new List<MountInfoEntry>();
        bad = 0;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (TryParse(line, out var e)) list.Add(e!); else bad++;
        }
        return list;
    }

    /// <summary>One line, through the mount tracker's parser (one mountinfo grammar for the whole daemon).</summary>
    public static bool TryParse(string line, out MountInfoEntry? entry)
    {
        entry = null;
        var m = Mounts.MountInfoParser.ParseLine(line, out _);
        if (m is null || m.LegacyId > int.MaxValue) return false;
        entry = new MountInfoEntry((int)m.LegacyId, m.DevMajor, m.DevMinor, m.MntRoot, m.MountPoint, m.MountOptions,
            m.FsSubtype.Length > 0 ? $"{m.FsType}.{m.FsSubtype}" : m.FsType, m.Source, m.SuperOptions);
        return true;
    }

    /// <summary>Undo the kernel's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash).</summary>
    public static string Unescape(string s) => Mounts.MountInfoParser.Unescape(s);
}

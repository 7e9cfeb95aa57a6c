using FsHealer.Mounts;

namespace FsHealer.Ext4;

/// <summary>ext4's errors= behaviour.</summary>
public enum Ext4ErrorsPolicy { Default, Continue, RemountRo, Panic }

/// <summary>
/// ext4 state that only the mount options show: the errors= policy, the emergency read-only state after an error
/// (statvfs still says rw) and the shutdown state.
/// </summary>
public sealed record Ext4MountOptions(IReadOnlyList<string> Options)
{
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

    /// <summary>The options of a mount: its per-mount and superblock options combined (<see cref="Combine"/>).</summary>
    public static Ext4MountOptions Of(MountEntry mount) => Combine(mount.MountOptions, mount.SuperOptions);

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

    public override string ToString() => string.Join(',', Options);
}

namespace FsHealer.Healing;

/// <summary>
/// What the kernel says a filesystem is: the device number of its superblock (st_dev), its type, and the UUID the
/// filesystem itself carries (FS_IOC_GETFSUUID, or BTRFS_IOC_FS_INFO's fsid; null when the kernel gives none). The
/// mount point is not part of it: it is an attribute that moves (<see cref="WatchedFilesystem.Path"/>).
/// </summary>
public sealed record FilesystemIdentity(ulong DevKey, string FsType, Guid? Uuid)
{
    public uint Major => (uint)(DevKey >> 32);
    public uint Minor => (uint)DevKey;
    public string Dev => $"{Major}:{Minor}";

    /// <summary>The identity that outlives mounts and boots, for the history and status: the UUID when there is one
    /// (clones that share a UUID share it too), else the device number.</summary>
    public string Id => Uuid is { } u ? $"uuid:{u:D}" : $"dev:{Dev}";

    public override string ToString() => Uuid is { } u ? $"{FsType} {u:D} on dev {Dev}" : $"{FsType} on dev {Dev}";

    public static ulong DevKeyOf(uint major, uint minor) => ((ulong)major << 32) | minor;
}

/// <summary>What a look at a mount point found, right now (gathered by the live layer; judged by
/// <see cref="IdentityProof"/>). <see cref="Error"/> set: it could not be looked at.</summary>
public sealed record MountProbe(ulong DevKey, string? FsType, Guid? Uuid, ulong MountId, string? Error = null)
{
    public static MountProbe Failed(string error) => new(0, null, null, 0, error);
}

/// <summary>What a look at a block device found: its device number, the superblock on it (type by magic, UUID) and
/// whether the kernel holds it (an O_EXCL open fails with EBUSY while it is mounted in any mount namespace, or used
/// by md/dm/another O_EXCL holder), with the mounts of it that are visible from here.</summary>
public sealed record DeviceProbe(string Path, ulong Rdev, string? FsType, Guid? Uuid, bool Busy,
    IReadOnlyList<string> MountedAt, string? Error = null)
{
    public static DeviceProbe Failed(string path, string error) => new(path, 0, null, null, false, [], error);
}

/// <summary>
/// Re-proving, immediately before every destructive step, that the thing there is still the filesystem the action was
/// planned for. Pure: each check takes what the live layer saw and answers null (proven) or why not.
/// </summary>
public static class IdentityProof
{
    /// <summary>Before unmounting <paramref name="path"/>: the topmost mount there is the target's mount (same superblock
    /// device, same filesystem UUID, and the same mount when its id is known).</summary>
    public static string? Mount(FilesystemIdentity target, ulong mountId, string path, MountProbe seen)
    {
        if (seen.Error is { } e) return $"{path}: cannot look at it: {e}";
        if (AnonymousStDev.Contains(target.FsType))
        {
            // btrfs: stat of a subvolume gives an anonymous device of that subvolume, not the superblock's (mountinfo's)
            // number: the filesystem UUID (and the mount id) prove it instead, so both UUIDs must be known
            if (seen.FsType is { } bt && bt != target.FsType) return $"{path} now holds a {bt} filesystem, not {target}";
            if (target.Uuid is null || seen.Uuid is null) return $"{path}: {target} cannot be proven without its UUID (its device number is anonymous)";
        }
        else if (seen.DevKey != target.DevKey)
            return $"{path} now holds another filesystem ({seen.FsType ?? "?"} on dev {Dev(seen.DevKey)}{Uuid(seen.Uuid)}), not {target}";
        if (seen.FsType is { } t && t != target.FsType)
            return $"{path} now holds a {t} filesystem on dev {target.Dev}, not {target}";
        if (target.Uuid is { } want && seen.Uuid is { } got && got != want)
            return $"{path}: the filesystem on dev {target.Dev} now has UUID {got:D}, not {want:D} (the device was reused)";
        if (mountId != 0 && seen.MountId != 0 && seen.MountId != mountId)
            return $"{path}: the topmost mount is now mount {seen.MountId}, not the watched mount {mountId} (something was mounted over it, or it was remounted)";
        return null;
    }

    /// <summary>Before running a repair tool on the device: it is the target's device, it carries the target's superblock
    /// (type and UUID read from the device itself), and nothing holds it — not mounted here, not in another mount
    /// namespace, not in use by anyone else.</summary>
    /// <param name="expectedRdev">The device number it must have (a btrfs member: the superblock's own device number is
    /// anonymous); null: the target's.</param>
    public static string? Device(FilesystemIdentity target, DeviceProbe dev, ulong? expectedRdev = null)
    {
        if (dev.Error is { } e) return $"{dev.Path}: cannot look at it: {e}";
        ulong rdev = expectedRdev ?? target.DevKey;
        if (dev.Rdev != rdev)
            return $"{dev.Path} is device {Dev(dev.Rdev)}, not {Dev(rdev)}";
        if (dev.FsType is null) return $"{dev.Path}: no {target.FsType} superblock found on the device";
        if (dev.FsType != target.FsType) return $"{dev.Path} now carries a {dev.FsType} superblock, not {target.FsType}";
        if (target.Uuid is { } want && dev.Uuid != want)
            return $"{dev.Path}: superblock UUID is {(dev.Uuid is { } u ? u.ToString("D") : "unknown")}, not {want:D}";
        if (dev.MountedAt.Count > 0) return $"{dev.Path} is still mounted at {string.Join(", ", dev.MountedAt)}";
        if (dev.Busy) return $"{dev.Path} is in use (mounted in another mount namespace, or held by another program)";
        return null;
    }

    /// <summary>Filesystem types whose st_dev (statx of a path) is not the superblock's device number (kernel fact):
    /// btrfs gives every subvolume an anonymous device of its own.</summary>
    public static readonly IReadOnlySet<string> AnonymousStDev = new HashSet<string>(StringComparer.Ordinal) { "btrfs" };

    /// <summary>After mounting again a filesystem whose superblock gets a new device number at every mount (btrfs): what
    /// is mounted at <paramref name="path"/> is of the target's type and carries the target's UUID (required).</summary>
    public static string? Remounted(FilesystemIdentity target, string path, MountProbe seen)
    {
        if (seen.Error is { } e) return $"{path}: cannot look at it: {e}";
        if (seen.FsType != target.FsType) return $"{path} now holds {seen.FsType ?? "an unknown filesystem"}, not {target}";
        if (target.Uuid is not { } want) return $"{path}: {target} has no UUID to prove it by";
        if (seen.Uuid != want) return $"{path}: the filesystem there has UUID {(seen.Uuid is { } u ? u.ToString("D") : "unknown")}, not {want:D}";
        return null;
    }

    private static string Dev(ulong key) => $"{(uint)(key >> 32)}:{(uint)key}";
    private static string Uuid(Guid? u) => u is { } g ? $", UUID {g:D}" : "";
}

using FsHealer.Text;

namespace FsHealer.Fanotify;

/// <summary>A filesystem id as fanotify reports it (__kernel_fsid_t, two s32); equals statfs().f_fsid.</summary>
public readonly record struct FsId(int Val0, int Val1)
{
    /// <summary>A zero fsid (ext4 with a null UUID): fanotify cannot mark such a filesystem (ENODEV).</summary>
    public bool IsZero => Val0 == 0 && Val1 == 0;

    public override string ToString() => $"{(uint)Val0:x8} {(uint)Val1:x8}";
}

/// <summary>What kind of report an <see cref="FsErrorEvent"/> is.</summary>
public enum FsErrorKind
{
    /// <summary>A FAN_FS_ERROR event from the kernel.</summary>
    Error,
    /// <summary>FAN_Q_OVERFLOW: events were lost; reconcile with the sysfs counters.</summary>
    Overflow,
    /// <summary>Synthetic: the filesystem's own error counter rose with no matching event (daemon down, overflow).</summary>
    Missed,
}

/// <summary>Well-known file handle types (include/linux/exportfs.h), as data.</summary>
public static class FileIdTypes
{
    public const int FILEID_ROOT = 0, FILEID_INO32_GEN = 1, FILEID_INO32_GEN_PARENT = 2, FILEID_INVALID = 0xFF;

    private static readonly Dictionary<int, string> Names = new()
    {
        [FILEID_ROOT] = "FILEID_ROOT",
        [FILEID_INO32_GEN] = "FILEID_INO32_GEN",
        [FILEID_INO32_GEN_PARENT] = "FILEID_INO32_GEN_PARENT",
        [0x81] = "FILEID_INO32_GEN|XFS_64",
        [FILEID_INVALID] = "FILEID_INVALID",
    };

    public static string Name(int type) => Names.TryGetValue(type, out var n) ? n : $"0x{type:x}";
}

/// <summary>
/// One decoded filesystem error report. Pure data: which filesystem (fsid), which inode (or filesystem-wide), the
/// first errno, how many errors were folded into it, and the reporting pid.
/// </summary>
public sealed record FsErrorEvent
{
    public FsErrorKind Kind { get; init; } = FsErrorKind.Error;
    /// <summary>Filesystem id, or null when the event carried no FID record (overflow, malformed).</summary>
    public FsId? Fsid { get; init; }
    /// <summary>True for superblock-level errors (FILEID_INVALID handle) and for overflow/missed reports without an inode.</summary>
    public bool FilesystemWide { get; init; }
    public int HandleType { get; init; } = FileIdTypes.FILEID_INVALID;
    public byte[] Handle { get; init; } = [];
    /// <summary>Inode number when the handle decodes as FILEID_INO32_GEN (ext4), else null.</summary>
    public uint? Inode { get; init; }
    /// <summary>Generation from the handle; 0 means ext4's iget itself failed (the inode is corrupt).</summary>
    public uint? Generation { get; init; }
    /// <summary>Positive errno of the first error (0 when unknown).</summary>
    public int Error { get; init; }
    /// <summary>Number of errors folded into this report.</summary>
    public uint ErrorCount { get; init; }
    public int Pid { get; init; }
    /// <summary>Anything odd noticed while decoding (unknown records, duplicates, missing records).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    public string ErrorName => Error == 0 ? "none" : Errno.Name(Error);
    public string ErrorMessage => Error == 0 ? "no error code" : Errno.Message(Error);

    /// <summary>Where: "filesystem" or "inode N gen G".</summary>
    public string Target => Inode is { } i ? $"inode {i} gen {Generation ?? 0}"
        : FilesystemWide ? "filesystem" : $"handle {FileIdTypes.Name(HandleType)} {Convert.ToHexString(Handle).ToLowerInvariant()}";

    public override string ToString() => Kind switch
    {
        FsErrorKind.Overflow => "fanotify queue overflow: error events were lost",
        FsErrorKind.Missed => $"fsid {Fsid?.ToString() ?? "?"}: {ErrorCount} error(s) missed ({Target}, last {ErrorName}: {ErrorMessage})",
        _ => $"fsid {Fsid?.ToString() ?? "?"}: {ErrorName} ({ErrorMessage}) x{ErrorCount} on {Target} pid {Pid}",
    };
}

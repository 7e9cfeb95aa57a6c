namespace FsHealer.Mounts;

/// <summary>
/// One mount, as seen through statmount(2) or a /proc/self/mountinfo line. Fields the source did not provide are
/// empty/zero; <see cref="UniqueId"/> is 0 when only the legacy (reusable) id is known (mountinfo fallback).
/// </summary>
public sealed record MountEntry
{
    /// <summary>Unique 64-bit mount id (statmount/listmount/fanotify/STATX_MNT_ID_UNIQUE), 0 if unknown.</summary>
    public ulong UniqueId { get; init; }
    public ulong ParentUniqueId { get; init; }
    /// <summary>The id shown in /proc/self/mountinfo (reusable).</summary>
    public uint LegacyId { get; init; }
    public uint ParentLegacyId { get; init; }
    public uint DevMajor { get; init; }
    public uint DevMinor { get; init; }
    /// <summary>False when the source gave no device number (statmount without SB_BASIC).</summary>
    public bool HasDev { get; init; } = true;
    public string FsType { get; init; } = "";
    public string FsSubtype { get; init; } = "";
    /// <summary>The type as mountinfo shows it: "type.subtype" when there is a subtype ("fuse.sshfs"), else the type.</summary>
    public string FullFsType => FsSubtype.Length > 0 ? $"{FsType}.{FsSubtype}" : FsType;
    public string Source { get; init; } = "";
    public string MountPoint { get; init; } = "";
    /// <summary>Path of the mounted directory inside its filesystem; "/" for a mount of the filesystem's root.</summary>
    public string MntRoot { get; init; } = "";
    /// <summary>Per-mount options ("rw,nosuid,relatime").</summary>
    public string MountOptions { get; init; } = "";
    /// <summary>Filesystem (superblock) options ("inode64,logbufs=8,...").</summary>
    public string SuperOptions { get; init; } = "";
    public uint SbFlags { get; init; }
    public ulong SbMagic { get; init; }
    public ulong MntAttr { get; init; }
    public ulong MntNsId { get; init; }

    /// <summary>The key the tracker uses: the unique id when known, else the legacy id.</summary>
    public ulong Key => UniqueId != 0 ? UniqueId : LegacyId;
    public ulong DevKey => ((ulong)DevMajor << 32) | DevMinor;
    public string Dev => $"{DevMajor}:{DevMinor}";
    public bool IsRootMount => MntRoot == "/";
    /// <summary>The kernel's short name of the source device, as XFS prints it in its log ("/dev/loop3" → "loop3");
    /// a source outside /dev is returned unchanged.</summary>
    public string KernelDeviceName => Source.StartsWith("/dev/", StringComparison.Ordinal) ? Source[5..] : Source;
    public bool SuperblockReadOnly => (SbFlags & StatmountAbi.SB_RDONLY) != 0;
    public bool ReadOnly => SuperblockReadOnly || (MntAttr & 1) != 0;
}

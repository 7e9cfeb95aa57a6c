using System.Globalization;
using System.Text.RegularExpressions;

namespace FsHealer.Kmsg;

/// <summary>Why a filesystem refused to mount, as its kernel-log line says.</summary>
public enum MountFailureReason
{
    /// <summary>No filesystem of this type there (bad magic, "Can't find ext4 filesystem").</summary>
    NoFilesystem,
    /// <summary>The superblock is there but invalid (checksum, sanity check, "SB validate failed").</summary>
    BadSuperblock,
    /// <summary>Sizes that do not fit the device or each other ("bad geometry", total bytes mismatch, dev extent
    /// beyond the device).</summary>
    BadGeometry,
    /// <summary>ext4 group descriptors fail their checks.</summary>
    GroupDescriptorsCorrupt,
    /// <summary>The root directory inode cannot be read or is not a directory.</summary>
    RootInodeUnreadable,
    /// <summary>Per-AG metadata (XFS AGF/AGI) unreadable while reserving space at mount.</summary>
    AllocationGroupCorrupt,
    /// <summary>The journal / log cannot be loaded or replayed.</summary>
    JournalUnusable,
    /// <summary>A btrfs tree (chunk, root, fs, extent…) cannot be read: open_ctree gives up.</summary>
    TreeUnreadable,
    /// <summary>A member device of a multi-device filesystem is missing.</summary>
    DeviceMissing,
    /// <summary>The filesystem uses something this kernel does not support (feature bits, block size, casefold).</summary>
    Unsupported,
    /// <summary>The mount failed; the line says no more than that (btrfs "open_ctree failed").</summary>
    Failed,
}

/// <summary>One kernel-log line about a refused mount. <see cref="Damage"/>: the on-disk filesystem is damaged
/// (an offline check/repair is the remedy), as opposed to an unsupported feature or a missing device.
/// <see cref="Final"/>: the line itself says the mount failed (otherwise it is evidence printed on the way, and the
/// caller confirms the failure by the mount not appearing). <see cref="Errno"/> is positive (117 = EUCLEAN =
/// EFSCORRUPTED, 74 = EBADMSG = EFSBADCRC), when the line carries one.</summary>
public sealed record MountFailureEvent(string Filesystem, string Device, MountFailureReason Reason, bool Damage, bool Final,
    int? Errno, string Message);

/// <summary>One row: filesystem, the line's text after the device prefix, what it means.</summary>
public sealed record MountFailurePattern(string Filesystem, MountFailureReason Reason, bool Damage, bool Final, string Pattern)
{
    public Regex Regex { get; } = KernelLogRegex.Create("^(?:" + Pattern + ")");
}

/// <summary>
/// Recognises the kernel-log lines of XFS, ext4 and btrfs that explain a refused mount, and names the device.
/// Texts from fs/ext4/super.c (__ext4_fill_super, ext4_check_descriptors), fs/xfs/xfs_mount.c / xfs_super.c /
/// xfs_sb.c (xfs_readsb, xfs_mountfs, xfs_validate_sb_common, xfs_fs_reserve_ag_blocks), fs/btrfs/disk-io.c /
/// volumes.c / super.c (open_ctree, btrfs_read_sys_array, btrfs_verify_dev_extents, btrfs_fill_super), checked
/// against what Linux 6.18 printed for the corpus images (bench/corpus). A mount-time line can also appear at run
/// time (a corrupt AGF read later logs the same "metadata I/O error"): only lines that are specific to mounting are
/// listed. Pure; first matching row wins.
/// </summary>
public static class MountFailureLog
{
    /// <summary>Where each filesystem puts the device: "EXT4-fs (dev): ", "EXT4-fs error (device dev): fn:line: ",
    /// "XFS (dev): ", "BTRFS level (device dev[: state S]): ". The body after the prefix is matched by the rows.</summary>
    private static readonly (string Filesystem, Regex Prefix)[] Prefixes =
    [
        ("ext4", Prefix(@"^EXT4-fs \((?<dev>[^)\s]+)\): (?<body>.*)$")),
        ("ext4", Prefix(@"^EXT4-fs (?:error|critical) \(device (?<dev>[^)\s]+)\): (?<body>.*)$")),
        ("xfs", Prefix(@"^XFS \((?<dev>[^)\s]+)\): (?<body>.*)$")),
        ("btrfs", Prefix(@"^BTRFS (?:emergency|emerg|alert|critical|crit|error|err|warning|notice|info|debug) \(device (?<dev>[^\s:)]+)(?::? state [A-Za-z]+)?\): (?<body>.*)$")),
    ];

    private static Regex Prefix(string p) => KernelLogRegex.Create(p);

    private const string E = @"(?<errno>-?\d+)";

    public static readonly MountFailurePattern[] Patterns =
    [
        // ext4 (__ext4_fill_super and friends; ext4_msg prefix "EXT4-fs (dev): ", ext4_error "EXT4-fs error (device dev): ")
        new("ext4", MountFailureReason.Failed, true, true, @"mount failed$"),
        new("ext4", MountFailureReason.NoFilesystem, true, true, @"VFS: Can't find ext[234] filesystem"),
        new("ext4", MountFailureReason.BadSuperblock, true, true, @"VFS: Found ext4 filesystem with invalid superblock checksum"),
        new("ext4", MountFailureReason.BadSuperblock, true, true, @"(?:unable to read superblock|can't read group descriptor|Invalid log (?:block|cluster) size|inodes count not valid|blocks per group \(\d+\) and clusters per group|Number of reserved GDT blocks insanely large|invalid first ino|invalid inode size|unsupported inode size|bad s_want_extra_isize|bad s_min_extra_isize|first meta block group too large|Invalid s_first_meta_bg)"),
        new("ext4", MountFailureReason.BadGeometry, true, true, @"(?:bad geometry: |failed to initialize system zone)"),
        new("ext4", MountFailureReason.GroupDescriptorsCorrupt, true, true, @"group descriptors corrupted!"),
        new("ext4", MountFailureReason.GroupDescriptorsCorrupt, true, false, @"ext4_check_descriptors: "),
        new("ext4", MountFailureReason.RootInodeUnreadable, true, true, @"(?:get root inode failed|corrupt root inode, run e2fsck)"),
        new("ext4", MountFailureReason.RootInodeUnreadable, true, false, @"__ext4_fill_super:\d+: inode #2: "),
        new("ext4", MountFailureReason.JournalUnusable, true, true, @"(?:error loading journal|no journal found|Could not load journal inode|journal inode is deleted|error: could not load journal|[Ee]xternal journal has (?:bad superblock|more than one user)|[Jj]ournal superblock (?:checksum|has an unknown))"),
        new("ext4", MountFailureReason.JournalUnusable, true, false, @"ext4_get_journal_inode:\d+: "),
        new("ext4", MountFailureReason.Unsupported, false, true, @"(?:Couldn't mount because of unsupported optional features|couldn't mount RDWR because of unsupported optional features|bad block size \d+|Unsupported filesystem blocksize|Filesystem with casefold feature cannot be mounted|Unsupported blocksize for fs encryption|Filesystem too large to mount safely|The kernel was not built with CONFIG_QUOTA)"),

        // XFS (xfs_warn/xfs_alert prefix "XFS (dev): ")
        new("xfs", MountFailureReason.NoFilesystem, true, true, @"Invalid superblock magic number"),
        new("xfs", MountFailureReason.BadSuperblock, true, true, $@"SB validate failed with error {E}\.?"),
        new("xfs", MountFailureReason.BadSuperblock, true, false, @"SB sanity check failed"),
        new("xfs", MountFailureReason.RootInodeUnreadable, true, true, $@"(?:Failed to read root inode 0x[0-9a-fA-F]+, error {E}|failed to read root inode|corrupted root inode \d+)"),
        new("xfs", MountFailureReason.AllocationGroupCorrupt, true, true, $@"Error {E} reserving per-AG metadata reserve pool"),
        new("xfs", MountFailureReason.JournalUnusable, true, true, $@"(?:log mount failed|log mount/recovery failed: error {E}|failed to locate log tail|empty log check failed|Log inconsistent)"),
        new("xfs", MountFailureReason.JournalUnusable, true, false, @"Corruption warning: Metadata has LSN \(\d+:\d+\) ahead of current LSN"),
        new("xfs", MountFailureReason.BadGeometry, true, true, @"(?:filesystem size mismatch detected|last sector read failed|Filesystem has been shut down because the size)"),
        new("xfs", MountFailureReason.Unsupported, false, true, @"(?:Superblock has unknown (?:incompatible|read-only compatible) features|[Ff]ile system with blocksize \d+ bytes|V4 filesystems? (?:are )?deprecated|sector size \d+ not supported)"),

        // btrfs (btrfs_err etc.: "BTRFS level (device dev[: state S]): ")
        new("btrfs", MountFailureReason.Failed, true, true, $@"open_ctree failed(?:: {E})?"),
        new("btrfs", MountFailureReason.TreeUnreadable, true, false, $@"(?:failed to read (?:chunk tree|the system array|block groups|chunk root|tree root|fs tree|log tree|devices|dev extents)|couldn't read tree root|failed to load root \w+|failed to verify dev extents against chunks|failed to recover log tree)(?:: {E})?"),
        new("btrfs", MountFailureReason.BadGeometry, true, false, @"(?:super_total_bytes \d+ mismatch with fs_devices total_rw_bytes \d+|dev extent devid \d+ physical offset \d+ len \d+ is beyond device boundary|device total_bytes should be at most \d+ but found \d+)"),
        new("btrfs", MountFailureReason.BadSuperblock, true, false, @"(?:superblock checksum mismatch|super block corruption detected|invalid (?:root level|chunk root level|sectorsize|nodesize|leafsize|num_devices|stripesize|root_dir_objectid|total_bytes|bytes_used)|dev_item UUID does not match)"),
        new("btrfs", MountFailureReason.DeviceMissing, false, false, @"(?:devid \d+ uuid [0-9a-f-]+ is missing|missing devices \(\d+\) exceeds the limit)"),
        new("btrfs", MountFailureReason.Unsupported, false, false, @"cannot mount (?:read-write )?because of unknown incompat features|cannot mount because of unsupported optional features"),
    ];

    /// <summary>Decode one kernel-log message; null when it is not a mount-failure line.</summary>
    public static MountFailureEvent? Decode(string? message)
    {
        if (string.IsNullOrEmpty(message)) return null;
        if (message.Length > KmsgParser.MaxMessageChars) message = message[..KmsgParser.MaxMessageChars];
        try
        {
            foreach (var (fs, prefix) in Prefixes)
            {
                var p = prefix.Match(message);
                if (!p.Success) continue;
                var body = p.Groups["body"].Value;
                foreach (var row in Patterns)
                {
                    if (row.Filesystem != fs) continue;
                    var m = row.Regex.Match(body);
                    if (!m.Success) continue;
                    int? errno = null;
                    if (m.Groups["errno"] is { Success: true } g)
                    {
                        if (!int.TryParse(g.ValueSpan, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var e) || e == int.MinValue) return null;
                        errno = Math.Abs(e);
                    }
                    return new MountFailureEvent(fs, p.Groups["dev"].Value, row.Reason, row.Damage, row.Final, errno, message);
                }
            }
        }
        catch (RegexMatchTimeoutException) { }
        return null;
    }
}

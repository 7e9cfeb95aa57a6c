namespace FsHealer.Btrfs;

/// <summary>
/// btrfs ioctl ABI (x86_64), from include/uapi/linux/btrfs.h and btrfs_tree.h. Request codes, structure sizes and
/// field offsets. Data only; decoders live in <see cref="BtrfsDecode"/>.
/// </summary>
public static class BtrfsAbi
{
    public const byte IoctlMagic = 0x94;

    // Request codes (_IOR/_IOW/_IOWR(BTRFS_IOCTL_MAGIC, nr, struct) of include/uapi/linux/btrfs.h).
    public const uint IocInoLookup = 0xD0009412;      // _IOWR(0x94, 18, btrfs_ioctl_ino_lookup_args) 4096
    public const uint IocScrub = 0xC400941B;          // _IOWR(0x94, 27, btrfs_ioctl_scrub_args) 1024
    public const uint IocScrubCancel = 0x0000941C;    // _IO(0x94, 28)
    public const uint IocScrubProgress = 0xC400941D;  // _IOWR(0x94, 29, btrfs_ioctl_scrub_args) 1024
    public const uint IocDevInfo = 0xD000941E;        // _IOWR(0x94, 30, btrfs_ioctl_dev_info_args) 4096
    public const uint IocFsInfo = 0x8400941F;         // _IOR(0x94, 31, btrfs_ioctl_fs_info_args) 1024
    public const uint IocInoPaths = 0xC0389423;       // _IOWR(0x94, 35, btrfs_ioctl_ino_path_args) 56
    public const uint IocLogicalIno = 0xC0389424;     // _IOWR(0x94, 36, btrfs_ioctl_logical_ino_args) 56
    public const uint IocGetDevStats = 0xC4089434;    // _IOWR(0x94, 52, btrfs_ioctl_get_dev_stats) 1032
    public const uint IocLogicalInoV2 = 0xC038943B;   // _IOWR(0x94, 59, btrfs_ioctl_logical_ino_args) 56

    // Structure sizes.
    public const int ScrubArgsSize = 1024;
    public const int ScrubProgressSize = 120;
    public const int FsInfoArgsSize = 1024;
    public const int DevInfoArgsSize = 4096;
    public const int GetDevStatsSize = 1032;
    public const int InoLookupArgsSize = 4096;
    public const int InoPathArgsSize = 56;
    public const int LogicalInoArgsSize = 56;
    public const int DataContainerHeaderSize = 16;

    // btrfs_ioctl_scrub_args offsets.
    public const int ScrubOffDevid = 0, ScrubOffStart = 8, ScrubOffEnd = 16, ScrubOffFlags = 24, ScrubOffProgress = 32;
    public const ulong ScrubFlagReadOnly = 1;

    // btrfs_ioctl_fs_info_args offsets.
    public const int FsInfoOffMaxId = 0, FsInfoOffNumDevices = 8, FsInfoOffFsid = 16, FsInfoOffNodeSize = 32,
        FsInfoOffSectorSize = 36, FsInfoOffCloneAlignment = 40, FsInfoOffCsumType = 44, FsInfoOffCsumSize = 46,
        FsInfoOffFlags = 48, FsInfoOffGeneration = 56, FsInfoOffMetadataUuid = 64;
    public const ulong FsInfoFlagCsumInfo = 1, FsInfoFlagGeneration = 2, FsInfoFlagMetadataUuid = 4;

    // btrfs_ioctl_dev_info_args offsets.
    public const int DevInfoOffDevid = 0, DevInfoOffUuid = 8, DevInfoOffBytesUsed = 24, DevInfoOffTotalBytes = 32,
        DevInfoOffFsid = 40, DevInfoOffPath = 3072, DevInfoPathSize = 1024;

    // btrfs_ioctl_get_dev_stats offsets.
    public const int DevStatsOffDevid = 0, DevStatsOffNrItems = 8, DevStatsOffFlags = 16, DevStatsOffValues = 24;
    public const int DevStatValuesMax = 5;
    public const ulong DevStatsFlagReset = 1;

    // btrfs_ioctl_ino_lookup_args: treeid @0, objectid @8, name[4080] @16.
    public const int InoLookupOffTreeId = 0, InoLookupOffObjectId = 8;
    public const ulong FirstFreeObjectId = 256;

    // btrfs_ioctl_ino_path_args: inum @0, size @8, reserved[4] @16, fspath ptr @48.
    public const int InoPathOffInum = 0, InoPathOffSize = 8, InoPathOffFspath = 48;
    // btrfs_ioctl_logical_ino_args: logical @0, size @8, reserved[3] @16, flags @40, inodes ptr @48.
    public const int LogicalInoOffLogical = 0, LogicalInoOffSize = 8, LogicalInoOffFlags = 40, LogicalInoOffInodes = 48;
    public const ulong LogicalInoFlagIgnoreOffset = 1;
    /// <summary>LOGICAL_INO (v1) caps the container at 64 KiB; V2 allows up to 16 MiB.</summary>
    public const int LogicalInoV1MaxSize = 65536;

    /// <summary>Top-level subvolume (FS_TREE) id.</summary>
    public const ulong FsTreeObjectId = 5;

    /// <summary>Checksum type names by csum_type value.</summary>
    public static readonly string[] CsumTypeNames = ["crc32c", "xxhash64", "sha256", "blake2b"];

    public static string CsumTypeName(ushort t) => t < CsumTypeNames.Length ? CsumTypeNames[t] : $"csum-type-{t}";
}

/// <summary>BTRFS_DEV_STAT_* counter indices.</summary>
public enum DevStatKind
{
    WriteErrs = 0,
    ReadErrs = 1,
    FlushErrs = 2,
    CorruptionErrs = 3,
    GenerationErrs = 4,
}

/// <summary>Names of the dev-stat counters: the sysfs error_stats key and the `btrfs device stats` label.</summary>
public static class DevStatNames
{
    /// <summary>Index = <see cref="DevStatKind"/>. Sysfs keys as in devinfo/&lt;id&gt;/error_stats.</summary>
    public static readonly string[] Sysfs = ["write_errs", "read_errs", "flush_errs", "corruption_errs", "generation_errs"];

    /// <summary>Index = <see cref="DevStatKind"/>. Labels as printed by `btrfs device stats`.</summary>
    public static readonly string[] Progs = ["write_io_errs", "read_io_errs", "flush_io_errs", "corruption_errs", "generation_errs"];

    public static string Name(DevStatKind k) => (int)k >= 0 && (int)k < Progs.Length ? Progs[(int)k] : $"stat{(int)k}";

    /// <summary>Counters that call for a scrub of the device when they rise.</summary>
    public static readonly DevStatKind[] ScrubTriggers = [DevStatKind.ReadErrs, DevStatKind.CorruptionErrs, DevStatKind.GenerationErrs];
}

namespace FsHealer.Mounts;

/// <summary>statmount(2)/listmount(2) constants and the struct statmount layout (include/uapi/linux/mount.h,
/// Linux 6.8 and later; x86_64).</summary>
public static class StatmountAbi
{
    public const ulong SB_BASIC = 0x0001, MNT_BASIC = 0x0002, PROPAGATE_FROM = 0x0004, MNT_ROOT = 0x0008,
        MNT_POINT = 0x0010, FS_TYPE = 0x0020, MNT_NS_ID = 0x0040, MNT_OPTS = 0x0080, FS_SUBTYPE = 0x0100,
        SB_SOURCE = 0x0200, OPT_ARRAY = 0x0400, OPT_SEC_ARRAY = 0x0800, SUPPORTED_MASK = 0x1000,
        MNT_UIDMAP = 0x2000, MNT_GIDMAP = 0x4000;

    /// <summary>Every request bit this code knows how to decode.</summary>
    public const ulong AllKnown = 0x7fff;

    public const ulong LSMT_ROOT = 0xFFFFFFFFFFFFFFFF;
    public const int MNT_ID_REQ_SIZE_VER0 = 24, MNT_ID_REQ_SIZE_VER1 = 32;
    /// <summary>Size of the fixed part of struct statmount; strings start here.</summary>
    public const int FixedSize = 512;

    public const uint SB_RDONLY = 0x1;

    // field offsets in struct statmount
    public const int OffSize = 0, OffMntOpts = 4, OffMask = 8, OffSbDevMajor = 16, OffSbDevMinor = 20, OffSbMagic = 24,
        OffSbFlags = 32, OffFsType = 36, OffMntId = 40, OffMntParentId = 48, OffMntIdOld = 56, OffMntParentIdOld = 60,
        OffMntAttr = 64, OffMntPropagation = 72, OffMntPeerGroup = 80, OffMntMaster = 88, OffPropagateFrom = 96,
        OffMntRoot = 104, OffMntPoint = 108, OffMntNsId = 112, OffFsSubtype = 120, OffSbSource = 124,
        OffOptNum = 128, OffOptArray = 132, OffOptSecNum = 136, OffOptSecArray = 140, OffSupportedMask = 144,
        OffUidmapNum = 152, OffUidmap = 156, OffGidmapNum = 160, OffGidmap = 164;

    /// <summary>STATMOUNT_* bit → name (xfs_io listmount spelling).</summary>
    public static readonly (ulong Bit, string Name)[] MaskNames =
    [
        (SB_BASIC, "sb_basic"), (MNT_BASIC, "mnt_basic"), (PROPAGATE_FROM, "propagate_from"), (MNT_ROOT, "mnt_root"),
        (MNT_POINT, "mnt_point"), (FS_TYPE, "fs_type"), (MNT_NS_ID, "mnt_ns_id"), (MNT_OPTS, "mnt_opts"),
        (FS_SUBTYPE, "fs_subtype"), (SB_SOURCE, "sb_source"), (OPT_ARRAY, "opt_array"), (OPT_SEC_ARRAY, "opt_sec_array"),
        (SUPPORTED_MASK, "supported_mask"), (MNT_UIDMAP, "mnt_uidmap"), (MNT_GIDMAP, "mnt_gidmap"),
    ];

    /// <summary>MOUNT_ATTR_* bit → name. The atime field (0x70) is a value, see <see cref="AtimeNames"/>.</summary>
    public static readonly (ulong Bit, string Name)[] AttrNames =
    [
        (0x1, "ro"), (0x2, "nosuid"), (0x4, "nodev"), (0x8, "noexec"), (0x80, "nodiratime"),
        (0x100000, "idmap"), (0x200000, "nosymfollow"),
    ];

    /// <summary>MOUNT_ATTR__ATIME (0x70) values.</summary>
    public static readonly (ulong Value, string Name)[] AtimeNames = [(0x00, "relatime"), (0x10, "noatime"), (0x20, "strictatime")];

    /// <summary>Propagation bits (MS_*) → name.</summary>
    public static readonly (ulong Bit, string Name)[] PropagationNames =
        [(1UL << 20, "shared"), (1UL << 19, "slave"), (1UL << 18, "private"), (1UL << 17, "unbindable")];

    public static string NamesOf(ulong value, (ulong Bit, string Name)[] table)
    {
        var parts = new List<string>();
        ulong rest = value;
        foreach (var (bit, name) in table)
            if ((value & bit) == bit && bit != 0) { parts.Add(name); rest &= ~bit; }
        if (rest != 0) parts.Add($"0x{rest:x}");
        return string.Join(",", parts);
    }

    /// <summary>"rw"/"ro" plus the flag names of a mount's MOUNT_ATTR_* value, like the per-mount options of mountinfo.</summary>
    public static string MountOptionsFromAttr(ulong attr)
    {
        var parts = new List<string> { (attr & 1) != 0 ? "ro" : "rw" };
        foreach (var (bit, name) in AttrNames)
            if (bit != 1 && (attr & bit) != 0) parts.Add(name);
        ulong atime = attr & 0x70;
        foreach (var (v, name) in AtimeNames)
            if (v == atime) { parts.Add(name); break; }
        return string.Join(",", parts);
    }
}

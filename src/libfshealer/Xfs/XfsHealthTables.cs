namespace FsHealer.Xfs;

/// <summary>XFS_SCRUB_TYPE_* values (merged numbering).</summary>
public static class ScrubType
{
    public const uint Probe = 0, Sb = 1, Agf = 2, Agfl = 3, Agi = 4, BnoBt = 5, CntBt = 6, InoBt = 7, FinoBt = 8,
        RmapBt = 9, RefcntBt = 10, Inode = 11, BmbtD = 12, BmbtA = 13, BmbtC = 14, Dir = 15, Xattr = 16,
        Symlink = 17, Parent = 18, RtBitmap = 19, RtSum = 20, UQuota = 21, GQuota = 22, PQuota = 23,
        FsCounters = 24, QuotaCheck = 25, NLinks = 26, Healthy = 27, DirTree = 28, MetaPath = 29, RgSuper = 30,
        RtRmapBt = 31, RtRefcBt = 32;
}

/// <summary>
/// The kernel facts xfs_healer encodes, as data: for each domain, bit → log name → scrub type that repairs it
/// (0 = logged, never repaired). Table order is the order of log names and of repair attempts.
/// </summary>
public static class XfsHealthTables
{
    public static readonly FlagMap FsStructures = new(
        new(1u << 0, "fscounters", ScrubType.FsCounters),
        new(1u << 1, "usrquota", ScrubType.UQuota),
        new(1u << 2, "grpquota", ScrubType.GQuota),
        new(1u << 3, "prjquota", ScrubType.PQuota),
        new(1u << 4, "bitmap", ScrubType.RtBitmap),
        new(1u << 5, "summary", ScrubType.RtSum),
        new(1u << 6, "quotacheck", ScrubType.QuotaCheck),
        new(1u << 7, "nlinks", ScrubType.NLinks),
        new(1u << 8, "metadir"),
        new(1u << 9, "metapath"));

    public static readonly FlagMap AgStructures = new(
        new(1u << 0, "super", ScrubType.Sb),
        new(1u << 1, "agf", ScrubType.Agf),
        new(1u << 2, "agfl", ScrubType.Agfl),
        new(1u << 3, "agi", ScrubType.Agi),
        new(1u << 4, "bnobt", ScrubType.BnoBt),
        new(1u << 5, "cntbt", ScrubType.CntBt),
        new(1u << 6, "inobt", ScrubType.InoBt),
        new(1u << 7, "finobt", ScrubType.FinoBt),
        new(1u << 8, "rmapbt", ScrubType.RmapBt),
        new(1u << 9, "refcountbt", ScrubType.RefcntBt),
        new(1u << 10, "inodes"));

    public static readonly FlagMap RtGroupStructures = new(
        new(1u << 0, "super", ScrubType.RgSuper),
        new(1u << 1, "bitmap", ScrubType.RtBitmap),
        new(1u << 2, "summary", ScrubType.RtSum),
        new(1u << 3, "rmapbt", ScrubType.RtRmapBt),
        new(1u << 4, "refcountbt", ScrubType.RtRefcBt));

    public static readonly FlagMap InodeStructures = new(
        new(1u << 0, "core", ScrubType.Inode),
        new(1u << 1, "datafork", ScrubType.BmbtD),
        new(1u << 2, "attrfork", ScrubType.BmbtA),
        new(1u << 3, "cowfork", ScrubType.BmbtC),
        new(1u << 4, "directory", ScrubType.Dir),
        new(1u << 5, "xattr", ScrubType.Xattr),
        new(1u << 6, "symlink", ScrubType.Symlink),
        new(1u << 7, "parent", ScrubType.Parent),
        new(1u << 8, "dirtree", ScrubType.DirTree));

    public static readonly FlagMap ShutdownReasons = new(
        new(1u << 0, "metadata I/O error"),
        new(1u << 1, "log I/O error"),
        new(1u << 2, "forced unmount"),
        new(1u << 3, "in-memory state corruption"),
        new(1u << 4, "ondisk metadata corruption"),
        new(1u << 5, "device removed"));

    public static readonly FlagMap DeviceDomains = new(
        new((uint)HealthDomain.DataDev, "datadev"),
        new((uint)HealthDomain.RtDev, "rtdev"),
        new((uint)HealthDomain.LogDev, "logdev"));

    public static readonly FlagMap FileIoTypes = new(
        new((uint)HealthEventType.BufRead, "buffered_read"),
        new((uint)HealthEventType.BufWrite, "buffered_write"),
        new((uint)HealthEventType.DioRead, "directio_read"),
        new((uint)HealthEventType.DioWrite, "directio_write"),
        new((uint)HealthEventType.DataLost, "media"));

    public static readonly FlagMap HealthTypes = new(
        new((uint)HealthEventType.Sick, "sick"),
        new((uint)HealthEventType.Corrupt, "corrupt"),
        new((uint)HealthEventType.Healthy, "healthy"));

    /// <summary>Names used in diagnostics for domains and types (fshealer's own text, not xfs_healer's).</summary>
    public static readonly FlagMap DomainNames = new(
        new(0, "mount"), new(1, "fs"), new(2, "ag"), new(3, "inode"), new(4, "rtgroup"),
        new(5, "datadev"), new(6, "rtdev"), new(7, "logdev"), new(8, "filerange"));

    public static readonly FlagMap TypeNames = new(
        new(0, "running"), new(1, "lost"), new(2, "unmount"), new(3, "sick"), new(4, "corrupt"), new(5, "healthy"),
        new(6, "shutdown"), new(7, "media_error"), new(8, "buffered_read"), new(9, "buffered_write"),
        new(10, "directio_read"), new(11, "directio_write"), new(12, "data_lost"));

    /// <summary>The structure table for a metadata domain, or null for non-metadata domains.</summary>
    public static FlagMap? StructuresFor(HealthDomain d) => d switch
    {
        HealthDomain.Fs => FsStructures,
        HealthDomain.Ag => AgStructures,
        HealthDomain.RtGroup => RtGroupStructures,
        HealthDomain.Inode => InodeStructures,
        _ => null,
    };

    /// <summary>Which types are valid in which domain (used for diagnostics of malformed records).</summary>
    public static bool IsValidCombination(HealthDomain d, HealthEventType t) => d switch
    {
        HealthDomain.Mount => t is HealthEventType.Running or HealthEventType.Lost or HealthEventType.Unmount or HealthEventType.Shutdown,
        HealthDomain.Fs or HealthDomain.Ag or HealthDomain.RtGroup or HealthDomain.Inode =>
            t is HealthEventType.Sick or HealthEventType.Corrupt or HealthEventType.Healthy,
        HealthDomain.DataDev or HealthDomain.RtDev or HealthDomain.LogDev => t is HealthEventType.MediaError,
        HealthDomain.FileRange => t is >= HealthEventType.BufRead and <= HealthEventType.DataLost,
        _ => false,
    };
}

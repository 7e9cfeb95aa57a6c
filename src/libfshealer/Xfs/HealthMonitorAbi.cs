namespace FsHealer.Xfs;

/// <summary>XFS_HEALTH_MONITOR_DOMAIN_* (Linux 7.0 uapi). Unknown values are carried as-is.</summary>
public enum HealthDomain : uint
{
    Mount = 0, Fs = 1, Ag = 2, Inode = 3, RtGroup = 4, DataDev = 5, RtDev = 6, LogDev = 7, FileRange = 8,
}

/// <summary>XFS_HEALTH_MONITOR_TYPE_* (globally unique numbers). Unknown values are carried as-is.</summary>
public enum HealthEventType : uint
{
    Running = 0, Lost = 1, Unmount = 2, Sick = 3, Corrupt = 4, Healthy = 5, Shutdown = 6, MediaError = 7,
    BufRead = 8, BufWrite = 9, DioRead = 10, DioWrite = 11, DataLost = 12,
}

/// <summary>Request codes, struct sizes and flags of the XFS health monitor and scrub ABI (x86_64).</summary>
public static class XfsAbi
{
    public const uint IocHealthMonitor = 0x40205844;          // _IOW('X', 68, 32)
    public const uint IocHealthFdOnMonitoredFs = 0x40085845;  // _IOW('X', 69, 8)
    public const uint IocVerifyMedia = 0xC0285846;            // _IOWR('X', 70, 40)
    public const uint IocScrubMetadata = 0xC040583C;          // _IOWR('X', 60, 64)
    public const uint IocFsGeometry = 0x8100587E;             // _IOR('X', 126, 256)
    public const uint IocAgGeometry = 0xC080583D;             // _IOWR('X', 61, 128)
    public const uint IocRtGroupGeometry = 0xC0805841;        // _IOWR('X', 65, 128)
    public const uint IocBulkstat = 0x8040587F;               // _IOR('X', 127, 64)
    public const uint IocInumbers = 0x80405880;               // _IOR('X', 128, 64)
    public const uint IocFdToHandle = 0xC038586A;
    public const uint IocGetParentsByHandle = 0xC040583F;     // _IOWR('X', 63, 64)
    public const uint IocGoingDown = 0x8004587D;

    public const int HealthMonitorRequestSize = 32;
    public const int HealthMonitorEventSize = 64;
    public const int HealthFdOnMonitoredFsSize = 8;
    public const int ScrubMetadataSize = 64;
    public const int FsGeometrySize = 256;
    public const int AgGeometrySize = 128;
    public const int VerifyMediaSize = 40;

    public const ulong HealthMonitorVerbose = 1UL << 0;
    public const byte HealthMonitorFormatV0 = 0;

    public const uint GeomFlagRmapBt = 1u << 19;
    public const uint GeomFlagReflink = 1u << 20;
    public const uint GeomFlagParent = 1u << 25;

    /// <summary>Offsets inside struct xfs_fsop_geom (v5).</summary>
    public const int GeomOffsetVersion = 88, GeomOffsetFlags = 92, GeomOffsetSick = 112, GeomOffsetChecked = 116,
        GeomOffsetAgCount = 12, GeomOffsetUuid = 64;

    /// <summary>The xattr that carries the autofsck fs property.</summary>
    public const string AutofsckXattr = "trusted.xfs:autofsck";
    public const int AutofsckMaxValueLength = 65536;
}

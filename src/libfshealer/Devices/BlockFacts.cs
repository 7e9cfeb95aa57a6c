namespace FsHealer.Devices;

/// <summary>What a block device is, as far as health reporting cares.</summary>
public enum BlockKind { Disk, Partition, Scsi, Nvme, Virtio, Mmc, Loop, DeviceMapper, Md, Zram, Nbd, Xen, Ram }

/// <summary>How a sysfs value is written.</summary>
public enum FactFormat
{
    /// <summary>A number: "0x1f" (SCSI counters are printed in hex) or decimal.</summary>
    Counter,
    /// <summary>A word ("running", "live", "idle").</summary>
    State,
    /// <summary>A name or other text, context only.</summary>
    Text,
}

/// <summary>
/// One health-relevant sysfs file under a block device's directory. All are optional: an absent or unreadable file
/// means "unknown", never an error. <see cref="RiseIsProblem"/>: a rise of this counter is a health signal;
/// <see cref="OkStates"/>: for states, the values that are healthy (anything else is reported).
/// </summary>
public sealed record BlockFact(string File, string Name, FactFormat Format, string Meaning, bool RiseIsProblem = false,
                               string[]? OkStates = null);

/// <summary>Kernel facts (file → meaning) for block devices, as data.</summary>
public static class BlockFacts
{
    /// <summary>Per-device health files. SCSI: drivers/scsi/scsi_sysfs.c (the *_cnt files are "0x%x" atomics,
    /// counted since the device was probed). NVMe: the namespace's <c>device</c> link is its controller, whose
    /// <c>state</c> is "live" when healthy (mainline exposes no error counter in sysfs). md: drivers/md/md.c.
    /// dm: drivers/md/dm-sysfs.c.</summary>
    public static readonly BlockFact[] Health =
    [
        new("device/state", "state", FactFormat.State, "SCSI device state (running) or NVMe controller state (live)",
            OkStates: ["running", "live"]),
        new("device/ioerr_cnt", "ioerr_cnt", FactFormat.Counter, "SCSI commands completed with an error since the device was probed", RiseIsProblem: true),
        new("device/iotmo_cnt", "iotmo_cnt", FactFormat.Counter, "SCSI commands that timed out since the device was probed", RiseIsProblem: true),
        new("device/iodone_cnt", "iodone_cnt", FactFormat.Counter, "SCSI commands completed"),
        new("device/iorequest_cnt", "iorequest_cnt", FactFormat.Counter, "SCSI commands issued"),
        new("md/degraded", "degraded", FactFormat.Counter, "md: member devices missing or failed", RiseIsProblem: true),
        new("md/array_state", "array_state", FactFormat.State, "md array state",
            OkStates: ["clean", "active", "active-idle", "write-pending", "read-auto", "readonly"]),
        new("md/sync_action", "sync_action", FactFormat.State, "md: running resync/recovery/check (idle when none)",
            OkStates: ["idle", "check", "resync", "repair"]),
        new("md/mismatch_cnt", "mismatch_cnt", FactFormat.Counter, "md: sectors found inconsistent by the last check/repair", RiseIsProblem: true),
        new("dm/name", "dm_name", FactFormat.Text, "device-mapper name (/dev/mapper/NAME)"),
        new("dm/suspended", "suspended", FactFormat.State, "device-mapper: 1 while I/O is suspended", OkStates: ["0"]),
    ];

    /// <summary>Kind by marker file (first match wins), checked before names.</summary>
    public static readonly (string Marker, BlockKind Kind)[] KindMarkers =
    [
        ("dm/name", BlockKind.DeviceMapper),
        ("md/level", BlockKind.Md),
        ("loop/backing_file", BlockKind.Loop),
        ("partition", BlockKind.Partition),
        ("device/scsi_level", BlockKind.Scsi),
    ];

    /// <summary>Kind by device name prefix (longest listed first where prefixes overlap).</summary>
    public static readonly (string Prefix, BlockKind Kind)[] KindPrefixes =
    [
        ("nvme", BlockKind.Nvme), ("mmcblk", BlockKind.Mmc), ("loop", BlockKind.Loop), ("zram", BlockKind.Zram),
        ("nbd", BlockKind.Nbd), ("xvd", BlockKind.Xen), ("dm-", BlockKind.DeviceMapper), ("md", BlockKind.Md),
        ("ram", BlockKind.Ram), ("sd", BlockKind.Scsi), ("vd", BlockKind.Virtio),
    ];

    public static string KindName(BlockKind k) => k switch
    {
        BlockKind.DeviceMapper => "dm",
        _ => k.ToString().ToLowerInvariant(),
    };
}

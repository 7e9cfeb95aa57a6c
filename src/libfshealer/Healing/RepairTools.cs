namespace FsHealer.Healing;

/// <summary>What one run of a repair/check tool says about the filesystem.</summary>
public enum FsckOutcome
{
    /// <summary>Nothing to fix.</summary>
    Clean,
    /// <summary>Problems found and fixed.</summary>
    Repaired,
    /// <summary>Check mode: problems found (nothing changed). Repair mode: problems left uncorrected.</summary>
    Damaged,
    /// <summary>xfs_repair: the log is dirty; mount and unmount to replay it, never zero it (-L).</summary>
    DirtyLog,
    /// <summary>The tool could not do its job (operational error, usage, killed, not found).</summary>
    Failed,
}

public enum FsckMode { Repair, Check }

/// <summary>An offline repair/check tool of one filesystem type and how to read its exit status (kernel and tool facts
/// as data: see e2fsck(8) EXIT CODE, xfs_repair(8) EXIT STATUS).</summary>
public sealed record FsckTool(string FsType, string Program, string[] RepairArgs, string[] CheckArgs,
    IReadOnlyList<(int Mask, FsckOutcome Outcome)> RepairExits, IReadOnlyList<(int Mask, FsckOutcome Outcome)> CheckExits,
    bool ReplaysDirtyLogByMount)
{
    public string[] Arguments(FsckMode mode, string device) => [.. mode == FsckMode.Repair ? RepairArgs : CheckArgs, device];

    /// <summary>The outcome of exit status <paramref name="exit"/>: 0 is clean; otherwise the first table row whose mask
    /// bits are all set (rows with mask -1 match any other status); a negative status (could not run, killed) fails.</summary>
    public FsckOutcome Classify(FsckMode mode, int exit, string output = "")
    {
        if (exit == 0) return mode == FsckMode.Repair && RepairZeroMeansRepairedOrClean ? FsckOutcome.Repaired : FsckOutcome.Clean;
        if (exit < 0) return FsckOutcome.Failed;
        // a tool whose exit status does not tell "damage found" from "could not look" (btrfs check: 1 for both)
        foreach (var text in FailureOutput)
            if (output.Contains(text, StringComparison.Ordinal)) return FsckOutcome.Failed;
        foreach (var (mask, outcome) in mode == FsckMode.Repair ? RepairExits : CheckExits)
            if (mask == -1 || (exit & mask) == mask) return outcome;
        return FsckOutcome.Failed;
    }

    /// <summary>xfs_repair exits 0 whether or not it changed anything.</summary>
    public bool RepairZeroMeansRepairedOrClean { get; init; }

    /// <summary>Output that makes a nonzero exit an operational failure, not damage (for tools with one exit status for
    /// both).</summary>
    public IReadOnlyList<string> FailureOutput { get; init; } = [];

    /// <summary>Arguments before the device, per mode (argv as the tool wants it).</summary>
    public string[] ArgsFor(FsckMode mode) => mode == FsckMode.Repair ? RepairArgs : CheckArgs;
}

/// <summary>How to make the next boot (or mount) check and repair a filesystem, for filesystems that have one.</summary>
public sealed record ScheduleTool(string Program, string[] ArgsBeforeDevice, string Description);

/// <summary>The per-filesystem-type facts the offline ladder needs.</summary>
public static class RepairTools
{
    // e2fsck: a bit mask (1 corrected, 2 corrected + reboot, 4 uncorrected, 8 operational error, 16 usage,
    // 32 cancelled, 128 shared library error); the most severe bit wins.
    private static readonly (int, FsckOutcome)[] E2fsckExits =
    [
        (128, FsckOutcome.Failed), (32, FsckOutcome.Failed), (16, FsckOutcome.Failed), (8, FsckOutcome.Failed),
        (4, FsckOutcome.Damaged), (2, FsckOutcome.Repaired), (1, FsckOutcome.Repaired),
    ];

    public static readonly IReadOnlyDictionary<string, FsckTool> Fsck = new Dictionary<string, FsckTool>(StringComparer.Ordinal)
    {
        ["ext4"] = new("ext4", "e2fsck", ["-f", "-y"], ["-f", "-n"], E2fsckExits, E2fsckExits, ReplaysDirtyLogByMount: false),
        // xfs_repair: 0 done; 1 failed (repair) / corruption found (-n); 2 dirty log (replay it by mounting; -L would zero it)
        ["xfs"] = new("xfs", "xfs_repair", [], ["-n"],
            [(2, FsckOutcome.DirtyLog), (-1, FsckOutcome.Failed)],
            [(2, FsckOutcome.DirtyLog), (1, FsckOutcome.Damaged), (-1, FsckOutcome.Failed)],
            ReplaysDirtyLogByMount: true) { RepairZeroMeansRepairedOrClean = true },
        // btrfs check (btrfs-check(8)): 0 no errors; 1 errors found — or it could not open the filesystem, told apart
        // by what it printed. --repair also exits 0 when it fixed everything, 1 when it could not; upstream warns it
        // can make a filesystem worse (and waits 10 s first without --force, which is only for mounted filesystems:
        // never used here). The device must be unmounted; every member must be visible (it scans block devices).
        ["btrfs"] = new("btrfs", "btrfs", ["check", "--repair"], ["check", "--readonly"],
            [(-1, FsckOutcome.Damaged)],
            [(-1, FsckOutcome.Damaged)],
            ReplaysDirtyLogByMount: false)
        {
            RepairZeroMeansRepairedOrClean = true,
            FailureOutput =
            [
                "cannot open file system", "No valid Btrfs found", "is currently mounted", "not a btrfs filesystem",
                "Could not open", "open ctree failed", "could not open ctree", "cannot be used with", "unrecognized option",
            ],
        },
    };

    public static readonly IReadOnlyDictionary<string, ScheduleTool> Schedule = new Dictionary<string, ScheduleTool>(StringComparer.Ordinal)
    {
        // the superblock's "check forced" flag: the next e2fsck -p (boot, or fsck before mount) runs a full check
        ["ext4"] = new("tune2fs", ["-E", "force_fsck"], "mark the superblock so the next boot-time e2fsck repairs it"),
    };

    /// <summary>
    /// The scheduled check of a mounted filesystem on an LVM snapshot (e2scrub's method, e2fsprogs scrub/e2scrub.in):
    /// nothing is unmounted. The snapshot's journal is replayed first (<c>e2fsck -E journal_only -p</c>: the snapshot
    /// of a mounted filesystem needs recovery like a crashed one), then the full read-only check
    /// (<c>e2fsck -f -n -E fixes_only</c>: e2scrub's E2FSCK_FIXES_ONLY, so optimisations do not count as damage).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, SnapshotCheckTool> SnapshotCheck = new Dictionary<string, SnapshotCheckTool>(StringComparer.Ordinal)
    {
        ["ext4"] = new("ext4", "e2fsck", ["-E", "journal_only", "-p"], ["-f", "-n", "-E", "fixes_only"], E2fsckExits, ".fshealer-e2scrub"),
    };

    /// <summary>The LVM programs a snapshot check runs (lvm2).</summary>
    public static readonly IReadOnlyList<string> LvmPrograms = [LvmTool.Lvs, LvmTool.Lvcreate, LvmTool.Lvremove];

    /// <summary>The programs an offline repair of <paramref name="fsType"/> runs (all must exist before anything is
    /// unmounted). Remounting uses mount(2) directly, with mount(8) as a fallback.</summary>
    public static IEnumerable<string> ProgramsFor(string fsType)
    {
        if (Fsck.TryGetValue(fsType, out var t)) yield return t.Program;
        if (Schedule.TryGetValue(fsType, out var s)) yield return s.Program;
    }
}

/// <summary>A filesystem's check on an LVM snapshot: the program, the journal-replay arguments, the read-only check
/// arguments (each followed by the snapshot's device), how to read the check's exit status, and the suffix that
/// names the snapshot after its LV (e2scrub: "&lt;lv&gt;.e2scrub").</summary>
public sealed record SnapshotCheckTool(string FsType, string Program, string[] ReplayArgs, string[] CheckArgs,
    IReadOnlyList<(int Mask, FsckOutcome Outcome)> CheckExits, string SnapshotSuffix)
{
    /// <summary>The check's outcome: 0 clean, else the first table row whose mask bits are all set; negative fails.</summary>
    public FsckOutcome Classify(int exit)
    {
        if (exit == 0) return FsckOutcome.Clean;
        if (exit < 0) return FsckOutcome.Failed;
        foreach (var (mask, outcome) in CheckExits)
            if (mask == -1 || (exit & mask) == mask) return outcome;
        return FsckOutcome.Failed;
    }
}

/// <summary>The lvm2 commands of a snapshot check and how they are spelt (lvcreate(8), lvremove(8), lvs(8)).</summary>
public static class LvmTool
{
    public const string Lvs = "lvs", Lvcreate = "lvcreate", Lvremove = "lvremove";
    /// <summary>lvremove's exit status when the LV is still open (busy): retried, as e2scrub does.</summary>
    public const int ExitBusy = 5;

    /// <summary>A classic copy-on-write snapshot of <paramref name="vg"/>/<paramref name="lv"/> with room for
    /// <paramref name="bytes"/> of changes.</summary>
    public static string[] CreateArgs(string vg, string lv, string snapshot, long bytes) =>
        ["--snapshot", "--size", $"{bytes}b", "--name", snapshot, $"{vg}/{lv}"];
    public static string[] RemoveArgs(string vg, string snapshot) => ["--force", $"{vg}/{snapshot}"];
    /// <summary>Is it there, and its lv_attr (the state: 'I' = invalid, it overflowed).</summary>
    public static string[] AttrArgs(string vg, string snapshot) => ["--noheadings", "-o", "lv_attr", $"{vg}/{snapshot}"];
}

/// <summary>Where a filesystem's own UUID and magic sit in its superblock, to read them from the device itself
/// (ext4: struct ext4_super_block at byte 1024; XFS: struct xfs_dsb at 0; btrfs: the primary super at 64 KiB).</summary>
public sealed record SuperblockLayout(string FsType, long MagicOffset, byte[] Magic, long UuidOffset)
{
    public static readonly IReadOnlyList<SuperblockLayout> All =
    [
        new("ext4", 1024 + 0x38, [0x53, 0xEF], 1024 + 0x68),
        new("xfs", 0, "XFSB"u8.ToArray(), 32),
        new("btrfs", 0x10000 + 0x40, "_BHRfS_M"u8.ToArray(), 0x10000 + 0x20),
    ];

    /// <summary>How many bytes from the start of the device cover every layout.</summary>
    public static int BytesNeeded => (int)All.Max(l => Math.Max(l.MagicOffset + l.Magic.Length, l.UuidOffset + 16));

    /// <summary>The filesystem type and UUID in the first <see cref="BytesNeeded"/> bytes of a device, or (null, null).
    /// An ext2/ext3 superblock is reported as ext4 only when the caller asks for ext4 (same magic, same layout).</summary>
    public static (string? FsType, Guid? Uuid) Identify(ReadOnlySpan<byte> head)
    {
        foreach (var l in All)
        {
            if (head.Length < l.UuidOffset + 16 || head.Length < l.MagicOffset + l.Magic.Length) continue;
            if (!head.Slice((int)l.MagicOffset, l.Magic.Length).SequenceEqual(l.Magic)) continue;
            // big-endian byte order as printed by blkid (RFC 4122 field order), like FS_IOC_GETFSUUID's bytes
            return (l.FsType, new Guid(head.Slice((int)l.UuidOffset, 16), bigEndian: true));
        }
        return (null, null);
    }
}

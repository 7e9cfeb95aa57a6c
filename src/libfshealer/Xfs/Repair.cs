namespace FsHealer.Xfs;

/// <summary>struct xfs_scrub_metadata flags.</summary>
public static class ScrubFlags
{
    public const uint IFlagRepair = 1u << 0;
    public const uint OFlagCorrupt = 1u << 1;
    public const uint OFlagPreen = 1u << 2;
    public const uint OFlagXFail = 1u << 3;
    public const uint OFlagXCorrupt = 1u << 4;
    public const uint OFlagIncomplete = 1u << 5;
    public const uint OFlagWarning = 1u << 6;
    public const uint OFlagNoRepairNeeded = 1u << 7;
    public const uint IFlagForceRebuild = 1u << 8;
}

/// <summary>The in/out scrub request (mirrors the 64-byte struct xfs_scrub_metadata minus reserved words).</summary>
public struct ScrubRequest
{
    public uint Type;
    public uint Flags;
    public ulong Ino;
    public uint Gen;
    public uint Agno;

    public ScrubRequest(uint type, uint flags, ulong ino = 0, uint gen = 0, uint agno = 0)
    { Type = type; Flags = flags; Ino = ino; Gen = gen; Agno = agno; }
}

public enum RepairOutcome { Success, Failed, ProbablyOk, Unnecessary }

/// <summary>One targeted repair call derived from a SICK event.</summary>
public readonly record struct RepairStep(uint ScrubType, uint StructFlag, string StructName, uint Agno, ulong Ino, uint Gen)
{
    public ScrubRequest ToRequest() => new(ScrubType, ScrubFlags.IFlagRepair, Ino, Gen, Agno);
}

public static class RepairPlanner
{
    /// <summary>Whether an event of this type is informational only (never repaired, always logged).</summary>
    public static bool IsNotActionable(HealthEventType t) =>
        t is HealthEventType.Lost or HealthEventType.Running or HealthEventType.Unmount or HealthEventType.Shutdown;

    /// <summary>
    /// The scrub calls that repair a SICK event: one per set bit that has a scrub type, in table order (low bit
    /// first). Bits without a scrub type (METADIR, METAPATH, AG INODES) and unknown bits are not repaired here.
    /// </summary>
    public static int Plan(in HealthMonitorEvent e, Span<RepairStep> steps)
    {
        var map = XfsHealthTables.StructuresFor(e.Domain);
        if (map is null) return 0;
        int n = 0;
        foreach (var entry in map.Entries)
        {
            if (!entry.Repairable || (e.Mask & entry.Flag) == 0) continue;
            if (n >= steps.Length) break;
            steps[n++] = e.Domain switch
            {
                HealthDomain.Inode => new RepairStep(entry.ScrubType, entry.Flag, entry.Name, 0, e.InodeIno, e.InodeGen),
                HealthDomain.Ag or HealthDomain.RtGroup => new RepairStep(entry.ScrubType, entry.Flag, entry.Name, e.GroupNumber, 0, 0),
                _ => new RepairStep(entry.ScrubType, entry.Flag, entry.Name, 0, 0, 0),
            };
        }
        return n;
    }

    public static RepairStep[] Plan(in HealthMonitorEvent e)
    {
        var buf = new RepairStep[16];
        return buf.AsSpan(0, Plan(e, buf)).ToArray();
    }

    /// <summary>Mask bits of a SICK event that no targeted repair covers (need a full check).</summary>
    public static uint UnrepairableBits(in HealthMonitorEvent e)
    {
        var map = XfsHealthTables.StructuresFor(e.Domain);
        if (map is null) return 0;
        uint covered = 0;
        foreach (var entry in map.Entries) if (entry.Repairable) covered |= entry.Flag;
        return e.Mask & ~covered;
    }

    /// <summary>xfs_healer's outcome rule: ioctl error, CORRUPT or INCOMPLETE → failed; XFAIL → probably ok;
    /// NO_REPAIR_NEEDED → unnecessary; otherwise success.</summary>
    public static RepairOutcome Classify(int errno, uint oflags)
    {
        if (errno != 0) return RepairOutcome.Failed;
        if ((oflags & (ScrubFlags.OFlagCorrupt | ScrubFlags.OFlagIncomplete)) != 0) return RepairOutcome.Failed;
        if ((oflags & ScrubFlags.OFlagXFail) != 0) return RepairOutcome.ProbablyOk;
        if ((oflags & ScrubFlags.OFlagNoRepairNeeded) != 0) return RepairOutcome.Unnecessary;
        return RepairOutcome.Success;
    }
}

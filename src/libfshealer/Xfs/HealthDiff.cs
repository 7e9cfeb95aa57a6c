using FsHealer.Xfs;

namespace FsHealer.Xfs;

/// <summary>Sick and checked masks of one object (fs, AG, rtgroup or inode).</summary>
public readonly record struct HealthMasks(uint Sick, uint Checked);

/// <summary>Health of one inode as BULKSTAT reported it.</summary>
public readonly record struct InodeHealth(uint Gen, uint Sick, uint Checked);

/// <summary>
/// The health state read in one poll. Inodes are kept sparsely: only those with a non-zero sick or checked mask,
/// plus any inode the caller saw again that the previous snapshot held (so a cleared mask can be reported).
/// An inode that is absent was either not scanned this time or is gone; the diff reports nothing for it.
/// </summary>
public sealed class HealthSnapshot
{
    public HealthMasks Fs { get; set; }
    public SortedDictionary<uint, HealthMasks> Ags { get; } = new();
    public SortedDictionary<uint, HealthMasks> RtGroups { get; } = new();
    public SortedDictionary<ulong, InodeHealth> Inodes { get; } = new();

    public static HealthSnapshot Empty => new();

    /// <summary>Record a bulkstat result: stored if it carries bits or if <paramref name="previous"/> knew the inode.</summary>
    public void AddInode(ulong ino, InodeHealth h, HealthSnapshot? previous)
    {
        if ((h.Sick | h.Checked) != 0 || (previous is not null && previous.Inodes.ContainsKey(ino)))
            Inodes[ino] = h;
    }

    /// <summary>Carry an inode's previous state forward unchanged (it was not scanned, or its bulkstat failed).</summary>
    public void CarryInode(ulong ino, HealthSnapshot previous)
    {
        if (previous.Inodes.TryGetValue(ino, out var h)) Inodes[ino] = h;
    }
}

/// <summary>
/// Turns two consecutive health snapshots into the events the 7.0 health monitor would have sent: a SICK event
/// per object for the sick bits that are newly set, and a HEALTHY event for the sick bits that cleared. Objects
/// whose sick mask is unchanged produce nothing. Checked-only changes produce nothing (non-verbose monitor).
/// An inode whose generation changed is a new inode: its sick bits are all new and no HEALTHY is sent for the old one.
/// Order: fs, AGs ascending, rtgroups ascending, inodes ascending; per object SICK before HEALTHY.
/// </summary>
public static class HealthDiff
{
    public static List<HealthMonitorEvent> Diff(HealthSnapshot previous, HealthSnapshot current, ulong timeNs = 0)
    {
        var events = new List<HealthMonitorEvent>();
        Emit(events, previous.Fs.Sick, current.Fs.Sick, (t, m) => HealthMonitorEvent.Fs(t, m, timeNs));
        DiffGroups(events, HealthDomain.Ag, previous.Ags, current.Ags, timeNs);
        DiffGroups(events, HealthDomain.RtGroup, previous.RtGroups, current.RtGroups, timeNs);
        foreach (var (ino, cur) in current.Inodes)
        {
            uint before = previous.Inodes.TryGetValue(ino, out var prev) && prev.Gen == cur.Gen ? prev.Sick : 0;
            Emit(events, before, cur.Sick, (t, m) => HealthMonitorEvent.Inode(t, ino, cur.Gen, m, timeNs));
        }
        return events;
    }

    private static void DiffGroups(List<HealthMonitorEvent> events, HealthDomain domain,
        SortedDictionary<uint, HealthMasks> previous, SortedDictionary<uint, HealthMasks> current, ulong timeNs)
    {
        foreach (var (gno, cur) in current)
        {
            uint before = previous.TryGetValue(gno, out var prev) ? prev.Sick : 0;
            Emit(events, before, cur.Sick, (t, m) => HealthMonitorEvent.Group(domain, t, gno, m, timeNs));
        }
    }

    private static void Emit(List<HealthMonitorEvent> events, uint before, uint now, Func<HealthEventType, uint, HealthMonitorEvent> make)
    {
        uint newlySick = now & ~before;
        uint cleared = before & ~now;
        if (newlySick != 0) events.Add(make(HealthEventType.Sick, newlySick));
        if (cleared != 0) events.Add(make(HealthEventType.Healthy, cleared));
    }
}

using FsHealer.Model;

namespace FsHealer.Config;

/// <summary>A device whose mount the kernel refused because the filesystem on it is damaged, not yet cleared.
/// <see cref="LastAction"/>: what the daemon did about it last (a refused or failed repair), if anything.</summary>
public sealed record UnmountableProblem(string Device, string FsType, string? FsId, DateTimeOffset Since, string Message, string? LastAction);

/// <summary>
/// Pure: which unmountable filesystems <c>fshealer status</c> shows (issue 17). A report is the daemon's
/// critical <see cref="EventClass.MetadataCorrupt"/> event with structure "mount" and no mount point
/// (<c>MountFailureWatcher</c>). It stays a problem until, after it, the same filesystem (by identity, or the same
/// device) is attached — mounted again, by fshealer's repair or by anyone — or a repair of it is verified (an
/// <see cref="EventClass.OfflineRepair"/> of notice severity or less). One entry per filesystem (identity, else
/// device), the newest report.
/// </summary>
public static class UnmountableStatus
{
    public static bool IsReport(FsEvent e) => e.Class == EventClass.MetadataCorrupt && e.Structure == "mount" && e.Mount.Length == 0 && e.Device is not null;

    public static List<UnmountableProblem> Open(IEnumerable<FsEvent> events)
    {
        var ordered = events.OrderBy(e => e.Time).ToList();
        var open = new Dictionary<string, UnmountableProblem>(StringComparer.Ordinal);
        foreach (var e in ordered)
        {
            if (IsReport(e))
            {
                string key = e.FsId ?? "device:" + e.Device;
                open[key] = new UnmountableProblem(e.Device!, e.FsType, e.FsId, e.Time, e.Message, null);
                continue;
            }
            bool clears = e.Class == EventClass.Attached || (e.Class == EventClass.OfflineRepair && e.Severity <= Severity.Notice);
            foreach (var (k, p) in open.ToList())
            {
                bool same = (p.FsId is not null && e.FsId == p.FsId) || (e.Device is not null && e.Device == p.Device && e.Class == EventClass.Attached);
                if (!same) continue;
                if (clears) open.Remove(k);
                else if (e.Class is EventClass.RepairRefused or EventClass.OfflineRepair || (e.Class == EventClass.Decision && e.Structure == "unmountable"))
                    open[k] = p with { LastAction = e.Message };
            }
        }
        return [.. open.Values.OrderBy(p => p.Since)];
    }
}

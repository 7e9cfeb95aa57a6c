using FsHealer.Config;

namespace FsHealer.Healing;

/// <summary>What the policy wants done about a damaged filesystem that cannot be repaired online.</summary>
public enum HealAction { Report, Schedule, OfflineRepair }

/// <summary>What a heal plan decided.</summary>
public enum HealDecision { Report, Schedule, OfflineRepair, Refuse }

/// <summary>One typed step of a heal plan. The executor switches on the type; nothing is read back from argv strings.</summary>
public abstract record HealStep(string Description)
{
    public sealed override string ToString() => Description;
}

/// <summary>Re-prove that the topmost mount at the path is the target's mount (just before unmounting it).</summary>
public sealed record ProveMountStep(string Path) : HealStep($"prove {Path} is still the watched filesystem");
/// <summary>umount(2) without MNT_DETACH: EBUSY is retried a few times (the process that hit the error may still be
/// inside its system call), then the plan falls back to scheduling. Never lazy.</summary>
public sealed record UnmountStep(string Path, int Attempts, TimeSpan RetryDelay) : HealStep($"unmount {Path} (never lazily)");
/// <summary>Re-prove that the device carries the target's superblock and is held by nobody (just before a tool writes to it).</summary>
public sealed record ProveDeviceStep(string Device) : HealStep($"prove {Device} holds the watched filesystem and is mounted nowhere");
/// <summary>Run the filesystem's repair or check tool on the unmounted device.</summary>
public sealed record FsckStep(FsckTool Tool, FsckMode Mode, string Device)
    : HealStep($"{(Mode == FsckMode.Repair ? "repair" : "verify")} {Device}: {Tool.Program} {string.Join(' ', Tool.Arguments(Mode, Device))}");
/// <summary>Mount the device at the same place with the same options.</summary>
public sealed record RemountStep(string Device, string Path, RemountSpec Spec)
    : HealStep($"mount {Device} again at {Path} ({Spec.OptionsText})");
/// <summary>Prove that what is now mounted at the path is the target (same superblock UUID, same device).</summary>
public sealed record ProveRemountedStep(string Path) : HealStep($"prove {Path} holds the repaired filesystem again");
/// <summary>Make the next boot-time check repair the filesystem (ext4: tune2fs -E force_fsck).</summary>
public sealed record ScheduleStep(ScheduleTool Tool, string Device) : HealStep($"{Tool.Description}: {Tool.Program} {string.Join(' ', Tool.ArgsBeforeDevice)} {Device}");

/// <summary>Run the check tool (read-only) on the unmounted device first (a scheduled check): clean → the check is
/// verified and nothing is repaired; damage found → the repair steps that follow run (when the plan has them).</summary>
public sealed record SurveyStep(FsckTool Tool, string Device)
    : HealStep($"check {Device} for latent damage: {Tool.Program} {string.Join(' ', Tool.Arguments(FsckMode.Check, Device))}");

/// <summary>A scheduled check of a mounted filesystem by the kernel's online scrub (XFS: <c>xfs_scrub -n</c>): nothing
/// is unmounted; damage found is a problem for the ordinary healing decision.</summary>
public sealed record OnlineCheckStep(string Program, string[] Arguments, string Path)
    : HealStep($"check {Path} online for latent damage: {Program} {string.Join(' ', Arguments)}");

/// <summary>How much a scheduled check may cost: its tools in the idle I/O class (ionice -c 3) and a maximum duration
/// (the tool is killed and the filesystem mounted again unchecked when it runs longer).</summary>
public sealed record CheckBudget(bool IdleIoClass, TimeSpan? MaxDuration)
{
    public static readonly CheckBudget None = new(false, null);
}

public sealed record HealPlan(HealDecision Decision, IReadOnlyList<HealStep> Steps, IReadOnlyList<string> Reasons, ScheduleStep? Fallback)
{
    /// <summary>A scheduled check (not a repair of a known problem): the executor applies <see cref="Budget"/>.</summary>
    public bool IsCheck { get; init; }
    public CheckBudget Budget { get; init; } = CheckBudget.None;
    /// <summary>The filesystem is not mounted when the plan starts (a mount the kernel refused, issue 17): there is no
    /// unmount step, the device steps run at once, and the mount at the end (when there is one) runs only after a
    /// verified repair — a filesystem that was not mounted is not "mounted again unrepaired".</summary>
    public bool StartsUnmounted { get; init; }
    /// <summary>XFS only: when xfs_repair finds a dirty log that cannot be replayed by mounting, run <c>xfs_repair -L</c>
    /// (the policy allowed discarding the log: <c>unmountable.xfs_zero_log</c>).</summary>
    public bool ZeroLogAllowed { get; init; }

    public override string ToString() =>
        $"{Decision}: {string.Join("; ", Reasons)}" + (Steps.Count > 0 ? $" [{string.Join(" -> ", Steps)}]" : "");
}

/// <summary>Everything the planner needs to know, gathered by the live layer just before planning.</summary>
public sealed record OfflineFacts
{
    public required FilesystemIdentity Identity { get; init; }
    /// <summary>Where it is mounted now (an attribute: it may have moved since the problem was seen).</summary>
    public required string Path { get; init; }
    /// <summary>The device node of <see cref="FilesystemIdentity.DevKey"/>, or null when none was found.</summary>
    public string? Device { get; init; }
    public required HealAction Wanted { get; init; }
    /// <summary>The mount is still there and still the target (<see cref="IdentityProof.Mount"/> said null), else why not.</summary>
    public string? NotTheTarget { get; init; }
    /// <summary>The filesystem holds "/" (judged by device, not by path).</summary>
    public bool IsRootFilesystem { get; init; }
    /// <summary>Every mount of this superblock that can be seen (this namespace and others), besides the watched one:
    /// bind mounts, mounts in other namespaces. Unmounting one place would not free the device.</summary>
    public IReadOnlyList<string> OtherMounts { get; init; } = [];
    /// <summary>The watched mount is not of the filesystem's root (a bind mount of a subtree).</summary>
    public bool IsBindOfSubtree { get; init; }
    public IReadOnlyList<string> MissingPrograms { get; init; } = [];
    /// <summary>The action journal can be made durable (the history store accepted and flushed a record). When it
    /// cannot, no offline action runs: a crash in the middle would leave nothing to tell what happened.</summary>
    public bool Durable { get; init; } = true;
    public string? NotDurableReason { get; init; }
    /// <summary>Mount options, for remounting (null: the mount was not found).</summary>
    public RemountSpec? Remount { get; init; }
    /// <summary>The kernel can scrub this filesystem online (XFS: XFS_IOC_SCRUB_METADATA answers the probe).</summary>
    public bool OnlineScrub { get; init; }
    /// <summary>util-linux ionice is there (a scheduled check runs its tools in the idle I/O class).</summary>
    public bool CanIdleIo { get; init; }
    public int UnmountAttempts { get; init; } = 4;
    public TimeSpan UnmountRetryDelay { get; init; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>
/// The one offline ladder of every filesystem type (pure): decide between report, schedule, offline repair and
/// refusal, and spell out the typed steps. Preconditions, in order: the policy wants it; the target is still there;
/// the action journal is durable; not the root filesystem (by device); not a bind mount of a subtree and not mounted
/// anywhere else (this namespace or another); every program present; a device node for it. Unmounting is never lazy;
/// a busy filesystem (EBUSY) falls back to the schedule step.
/// </summary>
public static class OfflinePlanner
{
    /// <summary>The read-only online check per filesystem type, where the kernel can scrub it mounted (xfs_scrub(8):
    /// -n checks only; exit 0 clean, bit 1 corruption found, bit 2 operational errors, bit 4 repairs needed/possible).</summary>
    public static readonly IReadOnlyDictionary<string, (string Program, string[] Args)> OnlineCheck = new Dictionary<string, (string, string[])>(StringComparer.Ordinal)
    {
        ["xfs"] = ("xfs_scrub", ["-n"]),
    };

    private static string OfflineSetting(string fsType) => fsType switch
    {
        "xfs" => "xfs.offline_repair is false",
        "ext4" => "ext4.policy is report",
        _ => $"{fsType} has no offline check here",
    };

    public static HealAction Wanted(string fsType, EffectivePolicy policy) => fsType switch
    {
        "ext4" => policy.Ext4 switch
        {
            Ext4Policy.OfflineRepair => HealAction.OfflineRepair,
            Ext4Policy.Schedule => HealAction.Schedule,
            _ => HealAction.Report,
        },
        "xfs" => policy.XfsOfflineRepair ? HealAction.OfflineRepair : HealAction.Report,
        _ => HealAction.Report,
    };

    public static HealPlan Plan(OfflineFacts f) => Plan(f, check: false, CheckBudget.None);

    /// <summary>
    /// A scheduled full check (latent damage), through the same ladder as a repair: where the policy allows an offline
    /// action (xfs.offline_repair, ext4 offline-repair) and every precondition holds, unmount → re-prove the device →
    /// the read-only check (<see cref="SurveyStep"/>) → only if it found damage: the repair and the verifying check →
    /// mount again; otherwise as <see cref="Plan(OfflineFacts)"/> (ext4: the boot-time check; else report that it cannot
    /// be checked).
    /// </summary>
    public static HealPlan PlanCheck(OfflineFacts f, CheckBudget budget) => Plan(f, check: true, budget);

    private static HealPlan Plan(OfflineFacts f, bool check, CheckBudget budget)
    {
        var id = f.Identity;
        var reasons = new List<string>();
        var scheduleTool = RepairTools.Schedule.GetValueOrDefault(id.FsType);
        ScheduleStep? schedule = scheduleTool is not null && f.Device is { } d ? new ScheduleStep(scheduleTool, d) : null;

        HealPlan Fallback(string why)
        {
            reasons.Add(why);
            if (schedule is not null && f.Wanted != HealAction.Report)
            {
                reasons.Add("scheduling a boot-time check instead");
                return new(HealDecision.Schedule, [schedule], reasons, null) { IsCheck = check };
            }
            if (check) reasons.Add($"cannot check {id.FsType} {f.Path}");
            return new(HealDecision.Report, [], reasons, null) { IsCheck = check };
        }

        if (f.NotTheTarget is { } gone)
        {
            reasons.Add($"refused: {gone}");
            return new(HealDecision.Refuse, [], reasons, null);
        }
        // a scheduled check where the kernel scrubs online (XFS on 7.x): no unmount, whatever the offline policy
        if (check && f.OnlineScrub && OnlineCheck.TryGetValue(id.FsType, out var online))
        {
            if (f.MissingPrograms.Contains(online.Program)) reasons.Add($"online check: {online.Program} not found in PATH");
            else
            {
                reasons.Add($"scheduled online check: {online.Program} {string.Join(' ', online.Args)} (the kernel scrubs {id.FsType} online; nothing is unmounted)");
                return new(HealDecision.OfflineRepair, [new ProveMountStep(f.Path), new OnlineCheckStep(online.Program, [.. online.Args, f.Path], f.Path)], reasons, null)
                    { IsCheck = true, Budget = budget with { IdleIoClass = budget.IdleIoClass && f.CanIdleIo } };
            }
        }
        switch (f.Wanted)
        {
            case HealAction.Report:
                reasons.Add(check ? $"cannot check {id.FsType} {f.Path} offline: the policy allows no offline action ({OfflineSetting(id.FsType)})"
                                  : "policy report: no action taken");
                return new(HealDecision.Report, [], reasons, null) { IsCheck = check };
            case HealAction.Schedule:
                if (schedule is null)
                {
                    reasons.Add(scheduleTool is null ? $"policy schedule: {id.FsType} has no boot-time check to schedule; reporting only"
                                                     : "policy schedule: no device node found; reporting only");
                    return new(HealDecision.Report, [], reasons, null) { IsCheck = check };
                }
                reasons.Add(check ? "policy schedule: full check (and repair) at the next boot-time check"
                                  : "policy schedule: repair at the next boot-time check");
                return new(HealDecision.Schedule, [schedule], reasons, null) { IsCheck = check };
        }

        // offline repair wanted
        if (!f.Durable) return Fallback($"the action journal is not durable ({f.NotDurableReason ?? "history store unavailable"}): no offline action runs");
        if (f.IsRootFilesystem) return Fallback("the root filesystem is never unmounted");
        if (f.IsBindOfSubtree) return Fallback($"{f.Path} is a bind mount of a subdirectory; unmounting it would not free the filesystem");
        if (f.OtherMounts.Count > 0)
            return Fallback($"the filesystem is also mounted at {string.Join(", ", f.OtherMounts)}; unmounting {f.Path} would not free it");
        if (!RepairTools.Fsck.TryGetValue(id.FsType, out var tool)) return Fallback($"no offline repair tool for {id.FsType}");
        if (f.MissingPrograms.Count > 0) return Fallback($"not found in PATH: {string.Join(", ", f.MissingPrograms)}; nothing is unmounted without its repair tool");
        if (f.Device is not { } dev) return Fallback($"no device node found for dev {id.Dev}");
        if (f.Remount is not { } remount) return Fallback($"{f.Path}: the mount options are unknown; it could not be mounted again the same way");

        if (check)
        {
            reasons.Add($"scheduled offline check: unmount, {tool.Program} {string.Join(' ', tool.CheckArgs)}, repair and verify only if damaged, mount again with the same options"
                        + (budget.IdleIoClass && f.CanIdleIo ? "; idle I/O class" : "")
                        + (budget.MaxDuration is { } md ? $"; at most {md.TotalSeconds:0} s per tool" : ""));
            return new(HealDecision.OfflineRepair,
            [
                new ProveMountStep(f.Path),
                new UnmountStep(f.Path, Math.Max(1, f.UnmountAttempts), f.UnmountRetryDelay),
                new ProveDeviceStep(dev),
                new SurveyStep(tool, dev),
                new ProveDeviceStep(dev),
                new FsckStep(tool, FsckMode.Repair, dev),
                new ProveDeviceStep(dev),
                new FsckStep(tool, FsckMode.Check, dev),
                new RemountStep(dev, f.Path, remount),
                new ProveRemountedStep(f.Path),
            ], reasons, schedule) { IsCheck = true, Budget = budget with { IdleIoClass = budget.IdleIoClass && f.CanIdleIo } };
        }
        reasons.Add($"offline repair: unmount, {tool.Program}, verify, mount again with the same options");
        var steps = new List<HealStep>
        {
            new ProveMountStep(f.Path),
            new UnmountStep(f.Path, Math.Max(1, f.UnmountAttempts), f.UnmountRetryDelay),
            new ProveDeviceStep(dev),
            new FsckStep(tool, FsckMode.Repair, dev),
            new ProveDeviceStep(dev),
            new FsckStep(tool, FsckMode.Check, dev),
            new RemountStep(dev, f.Path, remount),
            new ProveRemountedStep(f.Path),
        };
        return new(HealDecision.OfflineRepair, steps, reasons, schedule);
    }
}

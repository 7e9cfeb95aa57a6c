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
/// <param name="Rdev">The device number it must have (a member of a multi-device btrfs, whose superblock device is
/// anonymous); null: the filesystem's own device number.</param>
public sealed record ProveDeviceStep(string Device, ulong? Rdev = null) : HealStep($"prove {Device} holds the watched filesystem and is mounted nowhere");
/// <summary>Run the filesystem's repair or check tool on the unmounted device.</summary>
public sealed record FsckStep(FsckTool Tool, FsckMode Mode, string Device)
    : HealStep($"{(Mode == FsckMode.Repair ? "repair" : "verify")} {Device}: {Tool.Program} {string.Join(' ', Tool.Arguments(Mode, Device))}");
/// <summary>Mount the device at the same place with the same options.</summary>
public sealed record RemountStep(string Device, string Path, RemountSpec Spec)
    : HealStep($"mount {Device} again at {Path} ({Spec.OptionsText})");
/// <summary>Prove that what is now mounted at the path is the target (same superblock UUID, same device).</summary>
/// <param name="NewDevKey">The superblock's device number changes at every mount (btrfs: an anonymous device): the
/// proof compares type and UUID only.</param>
public sealed record ProveRemountedStep(string Path, bool NewDevKey = false) : HealStep($"prove {Path} holds the repaired filesystem again");
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

/// <summary>A scheduled check of a mounted btrfs: a full scrub of every device, one after the other (the kernel rewrites
/// what fails its checksum from a good copy — btrfs' own healing — and counts what no copy covers). Nothing is
/// unmounted; cancelled (BTRFS_IOC_SCRUB_CANCEL) when it runs over the budget or the daemon stops.</summary>
public sealed record FullScrubStep(string Path, bool ReadOnly)
    : HealStep($"scrub every device of {Path} online{(ReadOnly ? " (read-only)" : " (errors rewritten from good copies)")}");

/// <summary>A device of a multi-device filesystem (btrfs member): its node and device number.</summary>
public readonly record struct MemberDevice(string Device, ulong Rdev);
/// <summary>Remove the check snapshot of an LV. <paramref name="Leftover"/>: before the check, one left behind by an
/// earlier check (the daemon was killed); otherwise the cleanup after the check, run whatever happened in between
/// (tool failure, timeout, stop request), retried while lvremove says the snapshot is busy.</summary>
public sealed record RemoveSnapshotStep(string Vg, string Snapshot, bool Leftover)
    : HealStep(Leftover ? $"remove a snapshot {Vg}/{Snapshot} left behind by an earlier check, if there is one"
                        : $"remove the snapshot {Vg}/{Snapshot} (always)");
/// <summary>Take a copy-on-write LVM snapshot of the mounted filesystem's LV (lvcreate freezes the filesystem for the
/// moment of the snapshot: the snapshot is consistent like a crashed filesystem with its journal).</summary>
public sealed record CreateSnapshotStep(string Vg, string Lv, string Snapshot, long Bytes)
    : HealStep($"snapshot {Vg}/{Lv} as {Vg}/{Snapshot} with {Bytes >> 20} MiB for changes: {LvmTool.Lvcreate} {string.Join(' ', LvmTool.CreateArgs(Vg, Lv, Snapshot, Bytes))}");
/// <summary>Check the snapshot (never the mounted origin): replay its journal, then the full read-only check; an
/// overflowed (invalid) snapshot makes the result "could not check", never damage.</summary>
public sealed record SnapshotCheckStep(SnapshotCheckTool Tool, string Vg, string Snapshot, string Device)
    : HealStep($"check the snapshot {Device} for latent damage: {Tool.Program} {string.Join(' ', Tool.ReplayArgs)} {Device}, then {Tool.Program} {string.Join(' ', Tool.CheckArgs)} {Device}");

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
    /// <summary>btrfs: every member device (BTRFS_IOC_DEV_INFO), each proven unheld before the offline check.</summary>
    public IReadOnlyList<MemberDevice> Members { get; init; } = [];
    /// <summary>btrfs: the scrub is read-only (btrfs.read_only_scrub).</summary>
    public bool ScrubReadOnly { get; init; }
    /// <summary>The offline check may repair what it finds (btrfs.offline_repair); false: check only, report damage.</summary>
    public bool RepairAfterCheck { get; init; } = true;
    /// <summary>The LVM logical volume the filesystem sits on (null: not an LV, or it could not be looked up).</summary>
    public FsHealer.Devices.LvmVolume? Lvm { get; init; }
    /// <summary>The filesystem is on an LVM LV but it could not be looked up (lvm2 not installed, lvs failed): why.</summary>
    public string? LvmProblem { get; init; }
    /// <summary>lvm2 programs of a snapshot check that are not in PATH.</summary>
    public IReadOnlyList<string> MissingLvmPrograms { get; init; } = [];
    /// <summary>Copy-on-write space of the check snapshot (ext4.snapshot_size_mb, default 256 MiB as e2scrub).</summary>
    public long SnapshotBytes { get; init; } = DefaultSnapshotBytes;
    public const long DefaultSnapshotBytes = 256L << 20;
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
        "btrfs" => "btrfs.offline_check is false",
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

    /// <summary>What the policy allows a scheduled check to do offline: as <see cref="Wanted"/>, and for btrfs (whose
    /// problems are healed online by scrub) btrfs.offline_check.</summary>
    public static HealAction WantedCheck(string fsType, EffectivePolicy policy) => fsType switch
    {
        "btrfs" => policy.BtrfsOfflineCheck ? HealAction.OfflineRepair : HealAction.Report,
        _ => Wanted(fsType, policy),
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

    /// <summary>Why the filesystem's LV cannot be checked on a snapshot, or null (it can).</summary>
    private static string? SnapshotRefusal(OfflineFacts f, SnapshotCheckTool tool)
    {
        if (f.LvmProblem is { } p) return p;
        var lv = f.Lvm!;
        if (lv.IsSnapshot) return $"{lv.Vg}/{lv.Lv} is itself a snapshot";
        if (f.MissingLvmPrograms.Count > 0) return $"not found in PATH: {string.Join(", ", f.MissingLvmPrograms)} (lvm2)";
        if (f.MissingPrograms.Contains(tool.Program)) return $"{tool.Program} not found in PATH";
        if (FsHealer.Devices.Lvm.InvalidName(FsHealer.Devices.Lvm.SnapshotName(lv.Lv, tool.SnapshotSuffix)) is { } bad) return bad;
        if (f.SnapshotBytes <= 0) return "no snapshot size";
        if (lv.VgFreeBytes < f.SnapshotBytes)
            return $"volume group {lv.Vg} has {FsHealer.Text.Units.FormatSize((ulong)Math.Max(0, lv.VgFreeBytes))} free, the snapshot needs "
                   + $"{FsHealer.Text.Units.FormatSize((ulong)f.SnapshotBytes)} (ext4.snapshot_size_mb)";
        return null;
    }

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
        if (check && id.FsType == "btrfs") return PlanBtrfsCheck(f, budget, reasons);
        // a scheduled check of a filesystem on an LVM LV with room for a snapshot (e2scrub): no unmount, whatever the
        // offline policy; without LVM nothing is said, with LVM but no snapshot possible the reason is given
        if (check && RepairTools.SnapshotCheck.TryGetValue(id.FsType, out var snapTool) && (f.Lvm is not null || f.LvmProblem is not null))
        {
            if (SnapshotRefusal(f, snapTool) is { } why) reasons.Add($"no check on an LVM snapshot: {why}");
            else
            {
                var lv = f.Lvm!;
                string snap = FsHealer.Devices.Lvm.SnapshotName(lv.Lv, snapTool.SnapshotSuffix);
                reasons.Add($"scheduled check on an LVM snapshot (as e2scrub): {lv.Vg}/{snap} of {f.SnapshotBytes >> 20} MiB, {snapTool.Program} on the snapshot, "
                            + "the snapshot removed whatever happens; nothing is unmounted"
                            + (budget.IdleIoClass && f.CanIdleIo ? "; idle I/O class" : "")
                            + (budget.MaxDuration is { } smd ? $"; at most {smd.TotalSeconds:0} s per tool" : ""));
                return new(HealDecision.OfflineRepair,
                [
                    new ProveMountStep(f.Path),
                    new RemoveSnapshotStep(lv.Vg, snap, Leftover: true),
                    new CreateSnapshotStep(lv.Vg, lv.Lv, snap, f.SnapshotBytes),
                    new SnapshotCheckStep(snapTool, lv.Vg, snap, $"/dev/{lv.Vg}/{snap}"),
                    new RemoveSnapshotStep(lv.Vg, snap, Leftover: false),
                ], reasons, null) { IsCheck = true, Budget = budget with { IdleIoClass = budget.IdleIoClass && f.CanIdleIo } };
            }
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

    /// <summary>Why the offline part of a scheduled check cannot run (null: it can), the ladder's preconditions in order.</summary>
    private static string? OfflineBlocker(OfflineFacts f, FsckTool? tool)
    {
        if (!f.Durable) return $"the action journal is not durable ({f.NotDurableReason ?? "history store unavailable"})";
        if (f.IsRootFilesystem) return "the root filesystem is never unmounted";
        if (f.IsBindOfSubtree) return $"{f.Path} is a bind mount of a subdirectory (or a subvolume); unmounting it would not free the filesystem";
        if (f.OtherMounts.Count > 0) return $"the filesystem is also mounted at {string.Join(", ", f.OtherMounts)}; unmounting {f.Path} would not free it";
        if (tool is null) return $"no offline check tool for {f.Identity.FsType}";
        if (f.MissingPrograms.Count > 0) return $"not found in PATH: {string.Join(", ", f.MissingPrograms)}";
        if (f.Members.Count == 0) return "no member device found";
        if (f.Remount is null) return $"{f.Path}: the mount options are unknown; it could not be mounted again the same way";
        return null;
    }

    /// <summary>
    /// The scheduled check of a btrfs: a full scrub of the mounted filesystem first (online, always: btrfs repairs from
    /// good copies itself); then, where btrfs.offline_check allows it and every precondition of the ladder holds, the
    /// structural check the scrub cannot do (checksums right, references wrong): unmount → prove every member device
    /// unheld → <c>btrfs check --readonly</c> → only with btrfs.offline_repair and damage found: <c>btrfs check
    /// --repair</c> and a verifying check → mount again with the same options. The offline part runs only after a clean
    /// or corrected scrub (the executor stops after uncorrectable errors: btrfs check repairs no data).
    /// </summary>
    private static HealPlan PlanBtrfsCheck(OfflineFacts f, CheckBudget budget, List<string> reasons)
    {
        var b = budget with { IdleIoClass = budget.IdleIoClass && f.CanIdleIo };
        var steps = new List<HealStep> { new ProveMountStep(f.Path), new FullScrubStep(f.Path, f.ScrubReadOnly) };
        string cost = (budget.IdleIoClass ? "; idle I/O class" : "") + (budget.MaxDuration is { } md ? $"; at most {md.TotalSeconds:0} s per step" : "");
        reasons.Add($"scheduled check: full scrub of every device of {f.Path}{(f.ScrubReadOnly ? " (read-only)" : "")}" + cost);
        var tool = RepairTools.Fsck.GetValueOrDefault("btrfs");
        string? blocked = f.Wanted != HealAction.OfflineRepair ? OfflineSetting("btrfs") : OfflineBlocker(f, tool);
        if (blocked is not null)
        {
            reasons.Add($"no offline btrfs check: {blocked}");
            return new(HealDecision.OfflineRepair, steps, reasons, null) { IsCheck = true, Budget = b };
        }
        string first = f.Members[0].Device;
        IEnumerable<HealStep> ProveAll() => f.Members.Select(m => (HealStep)new ProveDeviceStep(m.Device, m.Rdev));
        reasons.Add($"then offline: unmount, {tool!.Program} {string.Join(' ', tool.CheckArgs)} {first}" +
                    (f.RepairAfterCheck ? ", repair (btrfs check --repair) and verify only if damaged" : ", damage reported (btrfs.offline_repair is false)") +
                    ", mount again with the same options");
        steps.Add(new UnmountStep(f.Path, Math.Max(1, f.UnmountAttempts), f.UnmountRetryDelay));
        steps.AddRange(ProveAll());
        steps.Add(new SurveyStep(tool, first));
        if (f.RepairAfterCheck)
        {
            steps.AddRange(ProveAll());
            steps.Add(new FsckStep(tool, FsckMode.Repair, first));
            steps.AddRange(ProveAll());
            steps.Add(new FsckStep(tool, FsckMode.Check, first));
        }
        steps.Add(new RemountStep(first, f.Path, f.Remount!));
        steps.Add(new ProveRemountedStep(f.Path, NewDevKey: true));
        return new(HealDecision.OfflineRepair, steps, reasons, null) { IsCheck = true, Budget = b };
    }
}

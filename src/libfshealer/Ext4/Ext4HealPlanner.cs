namespace FsHealer.Ext4;

/// <summary>What to do about an ext4 filesystem with errors.</summary>
public enum Ext4HealPolicy { Report, Schedule, OfflineRepair }

public enum Ext4PlanDecision { Nothing, Report, Schedule, OfflineRepair }

public enum Ext4StepKind
{
    /// <summary>umount(2) without MNT_DETACH: a lazy unmount would let e2fsck race with live users.</summary>
    Unmount,
    /// <summary>e2fsck -fy on the unmounted device.</summary>
    Repair,
    /// <summary>e2fsck -fn on the unmounted device: must now be clean.</summary>
    VerifyClean,
    /// <summary>mount the device again at the same place with the same options.</summary>
    Remount,
    /// <summary>check the mount is back, at the same place, with the same errors= policy.</summary>
    VerifyMounted,
    /// <summary>tune2fs -E force_fsck: mark the superblock so the next boot/mount check runs e2fsck.</summary>
    ScheduleFsck,
}

public sealed record Ext4PlanStep(Ext4StepKind Kind, string Program, IReadOnlyList<string> Arguments, string Description)
{
    public override string ToString() => Program.Length == 0 ? Description : $"{Description}: {Program} {string.Join(' ', Arguments)}";
}

/// <summary>Inputs of the planner: the filesystem's error state and the circumstances.</summary>
public sealed record Ext4HealInput
{
    public required string MountPoint { get; init; }
    public required string Device { get; init; }
    public Ext4MountOptions Options { get; init; } = Ext4MountOptions.Parse("");
    /// <summary>errors_count &gt; 0 or an error event was seen.</summary>
    public bool HasErrors { get; init; }
    public bool IsRootFs { get; init; }
    /// <summary>Known to be in use (open files, cwd, nested mounts); null = unknown (the unmount will tell).</summary>
    public bool? Busy { get; init; }
    public Ext4HealPolicy Policy { get; init; } = Ext4HealPolicy.Report;
}

public sealed record Ext4HealPlan(Ext4PlanDecision Decision, IReadOnlyList<Ext4PlanStep> Steps, IReadOnlyList<string> Reasons,
    Ext4PlanStep? Fallback)
{
    public override string ToString() =>
        $"{Decision}: {string.Join("; ", Reasons)}" + (Steps.Count > 0 ? $" [{string.Join(" -> ", Steps)}]" : "");
}

/// <summary>Pure planner: turns a filesystem's ext4 error state and a policy into steps with reasons.</summary>
public static class Ext4HealPlanner
{
    public static Ext4PlanStep ScheduleStep(string device) =>
        new(Ext4StepKind.ScheduleFsck, "tune2fs", ["-E", "force_fsck", device], $"mark {device} for a full e2fsck at the next check");

    public static Ext4HealPlan Plan(Ext4HealInput input)
    {
        var reasons = new List<string>();
        bool damaged = input.HasErrors || input.Options.EmergencyReadOnly || input.Options.Shutdown;
        if (!damaged)
            return new(Ext4PlanDecision.Nothing, [], [$"{input.Device} at {input.MountPoint}: no errors recorded"], null);
        if (input.HasErrors) reasons.Add($"{input.Device} has recorded errors");
        if (input.Options.EmergencyReadOnly) reasons.Add("ext4 remounted itself read-only after an error (emergency_ro)");
        if (input.Options.Shutdown) reasons.Add("filesystem is shut down");

        var schedule = ScheduleStep(input.Device);
        switch (input.Policy)
        {
            case Ext4HealPolicy.Report:
                reasons.Add("policy report: no action taken");
                return new(Ext4PlanDecision.Report, [], reasons, null);
            case Ext4HealPolicy.Schedule:
                reasons.Add("policy schedule: e2fsck at the next boot/mount check");
                return new(Ext4PlanDecision.Schedule, [schedule], reasons, null);
        }

        if (input.IsRootFs)
        {
            reasons.Add("root filesystem is never unmounted: scheduling e2fsck instead");
            return new(Ext4PlanDecision.Schedule, [schedule], reasons, null);
        }
        if (input.Busy == true)
        {
            reasons.Add($"{input.MountPoint} is busy: scheduling e2fsck instead of unmounting");
            return new(Ext4PlanDecision.Schedule, [schedule], reasons, null);
        }
        if (input.Options.ErrorsPolicy == Ext4ErrorsPolicy.Panic)
            reasons.Add("note: errors=panic is set");

        string opts = input.Options.ForRemount();
        var steps = new List<Ext4PlanStep>
        {
            new(Ext4StepKind.Unmount, "", [input.MountPoint], $"unmount {input.MountPoint} (never lazy)"),
            new(Ext4StepKind.Repair, "e2fsck", ["-f", "-y", input.Device], $"repair {input.Device}"),
            new(Ext4StepKind.VerifyClean, "e2fsck", ["-f", "-n", input.Device], $"verify {input.Device} is clean"),
            new(Ext4StepKind.Remount, "mount", opts.Length > 0 ? ["-t", "ext4", "-o", opts, input.Device, input.MountPoint]
                : ["-t", "ext4", input.Device, input.MountPoint], $"mount {input.Device} again at {input.MountPoint}"),
            new(Ext4StepKind.VerifyMounted, "", [input.MountPoint, input.Device, input.Options.ErrorsPolicy.ToString()], $"verify {input.Device} is mounted at {input.MountPoint}"),
        };
        reasons.Add("policy offline-repair: unmount, e2fsck -fy, remount with the same options");
        return new(Ext4PlanDecision.OfflineRepair, steps, reasons, schedule);
    }
}

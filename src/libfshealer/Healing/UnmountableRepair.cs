namespace FsHealer.Healing;

/// <summary>
/// The "unmountable" section of the configuration: what the daemon does when the kernel refuses to mount a filesystem
/// because it is damaged (issue 17). Off by default — and not turned on by <c>--offline-repair</c>: that switch allows
/// unmounting an idle, non-root filesystem the daemon watches; an unmounted device was never watched, nobody chose it
/// (a mount unit, an administrator by hand, a container runtime may be at it), and mounting it needs fstab. The
/// administrator opts in by name.
/// </summary>
/// <param name="Repair">Run the offline repair (ext4: e2fsck -fy; XFS: xfs_repair) on the device, verify it, and mount it
/// again as fstab says.</param>
/// <param name="FstabPath">Where the mount's target and options are looked up (the kernel log has neither).</param>
/// <param name="Mount">Mount it after a verified repair when fstab has a line for it (false: repair only).</param>
/// <param name="XfsZeroLog">XFS whose dirty log cannot be replayed (the mount that would replay it is the one the kernel
/// refuses): allow <c>xfs_repair -L</c>, which discards the log's last transactions. Default false: an administrator
/// decides that (xfs_repair(8)); without it such a filesystem is reported only.</param>
/// <param name="MatchUuid">Only filesystems whose superblock UUID matches this glob (null: any).</param>
/// <param name="MatchFsType">Only these types (glob; null: any).</param>
/// <param name="MatchMountPoint">Only filesystems whose fstab line mounts them at a place matching this glob (null: any;
/// set: a device without an fstab line never matches).</param>
public sealed record UnmountablePolicy(bool Repair = false, string FstabPath = UnmountablePolicy.DefaultFstab, bool Mount = true, bool XfsZeroLog = false,
    string? MatchUuid = null, string? MatchFsType = null, string? MatchMountPoint = null)
{
    public const string DefaultFstab = "/etc/fstab";
    public static readonly UnmountablePolicy Off = new();

    /// <summary>Null when the match allows this filesystem, else why not.</summary>
    public string? Excludes(string fsType, Guid? uuid, string? fstabTarget)
    {
        if (MatchFsType is { } t && !FsHealer.Config.Glob.IsMatch(t, fsType)) return $"type {fsType} does not match unmountable.match.fs_type \"{t}\"";
        if (MatchUuid is { } u && (uuid is null || !FsHealer.Config.Glob.IsMatch(u.ToLowerInvariant(), uuid.Value.ToString("D"))))
            return $"UUID {(uuid is { } g ? g.ToString("D") : "(none)")} does not match unmountable.match.uuid \"{u}\"";
        if (MatchMountPoint is { } m && (fstabTarget is null || !FsHealer.Config.Glob.IsMatch(m, fstabTarget)))
            return fstabTarget is null ? $"no fstab line, and unmountable.match.mount_point is \"{m}\""
                                       : $"its fstab mount point {fstabTarget} does not match unmountable.match.mount_point \"{m}\"";
        return null;
    }

    public string Describe() => !Repair
        ? "unmountable filesystems: report only"
        : $"unmountable filesystems: offline repair of ext4/XFS, verify{(Mount ? $", mount as {FstabPath} says" : ", not mounted")}" +
          (XfsZeroLog ? "; xfs_repair -L allowed when the log cannot be replayed" : "") + "; btrfs: report only";
}

/// <summary>Everything <see cref="UnmountablePlanner"/> needs about a refused mount, gathered by the live layer.</summary>
public sealed record UnmountableFacts
{
    /// <summary>The filesystem as the report named it: the device number, the type the kernel log said, the UUID its
    /// superblock carried when the report was made (null: none readable).</summary>
    public required FilesystemIdentity Identity { get; init; }
    public required string Device { get; init; }
    public required UnmountablePolicy Policy { get; init; }
    /// <summary>The report said damage (not an unsupported feature or a missing device).</summary>
    public bool Damage { get; init; } = true;
    /// <summary>Mounts of the device anywhere visible (this namespace, others), now.</summary>
    public IReadOnlyList<string> MountedAt { get; init; } = [];
    /// <summary>An exclusive open of the device failed with EBUSY (mounted in a namespace we cannot see, md/dm member, …).</summary>
    public bool Busy { get; init; }
    public IReadOnlyList<string> MissingPrograms { get; init; } = [];
    public bool Durable { get; init; } = true;
    public string? NotDurableReason { get; init; }
    /// <summary>The fstab line of the device, or null; <see cref="FstabNote"/> says how it matched or why none did.</summary>
    public FstabEntry? Fstab { get; init; }
    public string? FstabNote { get; init; }
    /// <summary>The mount point of the fstab line exists as a directory.</summary>
    public bool TargetExists { get; init; } = true;
}

/// <summary>
/// A refused mount → the same offline ladder as every repair, without the unmount: prove the device (same UUID, mounted
/// nowhere, held by nobody) → repair → prove again → verify → mount as fstab says → prove it is mounted there. Pure.
/// Preconditions in order: damage; the policy allows it; a tool for the type (btrfs: report only); the UUID read from
/// the superblock (no identity, no repair); not mounted anywhere, not held; the journal durable; the tool present.
/// </summary>
public static class UnmountablePlanner
{
    /// <summary>The types whose unmountable filesystems are repaired (one device, one tool). btrfs is not among them even
    /// when a btrfs repair tool is known to <see cref="RepairTools"/>: a btrfs repair (btrfs check --repair) needs its
    /// own policy and every member device proven; until that is wired here, a refused btrfs is reported only.</summary>
    public static readonly IReadOnlySet<string> RepairableTypes = new HashSet<string>(StringComparer.Ordinal) { "ext4", "xfs" };

    public static HealPlan Plan(UnmountableFacts f)
    {
        var id = f.Identity;
        var reasons = new List<string>();
        HealPlan Report(string why) { reasons.Add(why); return new(HealDecision.Report, [], reasons, null) { StartsUnmounted = true }; }
        HealPlan Refuse(string why) { reasons.Add($"refused: {why}"); return new(HealDecision.Refuse, [], reasons, null) { StartsUnmounted = true }; }

        if (!f.Damage) return Report("not damage (unsupported feature or missing device): nothing to repair");
        if (!f.Policy.Repair) return Report("policy: report only (unmountable.repair is false)");
        if (f.Policy.Excludes(id.FsType, id.Uuid, f.Fstab?.Target) is { } notMatched) return Report($"policy: report only ({notMatched})");
        if (!RepairableTypes.Contains(id.FsType) || !RepairTools.Fsck.TryGetValue(id.FsType, out var tool))
            return Report($"{id.FsType}: report only (no offline repair of an unmountable {id.FsType} here; run its check tool by hand)");
        if (id.Uuid is null) return Refuse($"{f.Device}: no {id.FsType} superblock UUID could be read, so its identity cannot be proven before a repair");
        if (f.MountedAt.Count > 0) return Refuse($"{f.Device} is mounted at {string.Join(", ", f.MountedAt)}");
        if (f.Busy) return Refuse($"{f.Device} is in use (an exclusive open fails: mounted in another namespace, or held by another program)");
        if (!f.Durable) return Report($"the action journal is not durable ({f.NotDurableReason ?? "history store unavailable"}): no offline action runs");
        if (f.MissingPrograms.Count > 0) return Report($"not found in PATH: {string.Join(", ", f.MissingPrograms)}");

        var steps = new List<HealStep>
        {
            new ProveDeviceStep(f.Device),
            new FsckStep(tool, FsckMode.Repair, f.Device),
            new ProveDeviceStep(f.Device),
            new FsckStep(tool, FsckMode.Check, f.Device),
        };
        string mount;
        if (!f.Policy.Mount) mount = "not mounted afterwards (unmountable.mount is false)";
        else if (f.Fstab is not { } e) mount = $"not mounted afterwards: no fstab entry for it in {f.Policy.FstabPath} ({f.FstabNote ?? "no match"})";
        else if (!f.TargetExists) mount = $"not mounted afterwards: {e.Target} ({f.Policy.FstabPath} line {e.Line}) is not a directory";
        else
        {
            var spec = RemountSpec.FromFstab(e.FsType is "auto" or "" ? id.FsType : e.FsType, e.Options);
            if (spec.FsType != id.FsType)
                mount = $"not mounted afterwards: {f.Policy.FstabPath} line {e.Line} says type {e.FsType}, the device carries {id.FsType}";
            else
            {
                steps.Add(new RemountStep(f.Device, e.Target, spec));
                steps.Add(new ProveRemountedStep(e.Target));
                mount = $"then mounted at {e.Target} with {f.Policy.FstabPath}'s options ({spec.OptionsText}; {f.FstabNote})";
            }
        }
        reasons.Add($"offline repair of the unmountable {id.FsType} on {f.Device}: {tool.Program}, verify, {mount}");
        return new(HealDecision.OfflineRepair, steps, reasons, null)
            { StartsUnmounted = true, ZeroLogAllowed = id.FsType == "xfs" && f.Policy.XfsZeroLog };
    }
}

/// <summary>
/// One repair attempt per unmountable filesystem (its identity: UUID and device) per <see cref="Window"/>: a mount
/// unit that keeps retrying must not loop repairs. A failed (or refused) repair is not tried again until what is on the
/// device changes (<c>fingerprint</c>: a digest of the superblock area) or the configuration is reloaded
/// (<see cref="Reset"/>). Pure; thread-safe.
/// </summary>
public sealed class UnmountableRepairLimiter(TimeProvider? time = null)
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(10);
    private const int MaxEntries = 1024;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (DateTimeOffset At, bool Ok, string? Fingerprint)> _last = new(StringComparer.Ordinal);

    /// <summary>Null: go ahead (the attempt is recorded as started). Otherwise why not.</summary>
    public string? TryStart(string key, string? fingerprint)
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (_last.TryGetValue(key, out var l))
            {
                if (!l.Ok && (fingerprint is null || fingerprint == l.Fingerprint))
                    return $"the last repair attempt ({l.At:HH:mm:ss}) failed and the superblock has not changed since: not trying again until it does or the configuration is reloaded";
                if (now - l.At < Window)
                    return $"one repair attempt per {Window.TotalMinutes:0} minutes (the last at {l.At:HH:mm:ss})";
            }
            if (_last.Count >= MaxEntries) _last.Remove(_last.MinBy(kv => kv.Value.At).Key);
            _last[key] = (now, true, fingerprint);
            return null;
        }
    }

    /// <summary>How the attempt ended (the fingerprint the device had before it, so that a failure blocks until it changes).</summary>
    public void Finished(string key, bool ok, string? fingerprint)
    {
        lock (_lock)
            if (_last.TryGetValue(key, out var l)) _last[key] = (l.At, ok, fingerprint ?? l.Fingerprint);
    }

    public void Reset() { lock (_lock) _last.Clear(); }
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace FsHealer.Config;

/// <summary>The on-disk JSON shape of /etc/fshealer/fshealer.json (snake_case keys). Every field is optional; missing
/// fields take the safe defaults of <see cref="EffectivePolicy.Defaults"/>. Unknown keys at every level are errors
/// (typos: <c>"rulez"</c>, <c>"poll_interval"</c>), found by <see cref="JsonShape"/> from this shape.</summary>
public sealed class ConfigDocument
{
    public string? StateDir { get; set; }
    public long? PollIntervalSeconds { get; set; }
    public long? FullCheckIntervalSeconds { get; set; }
    /// <summary>Check freshness: a filesystem whose last successful check/repair is older than this many seconds is
    /// degraded (status) and the daemon warns once (<see cref="FsHealer.Model.EventClass.CheckOverdue"/>); 0 = off.</summary>
    public long? MaxCheckAgeSeconds { get; set; }
    public ScheduledCheckSection? ScheduledCheck { get; set; }
    public XfsSection? Xfs { get; set; }
    public Ext4Section? Ext4 { get; set; }
    public BtrfsSection? Btrfs { get; set; }
    public List<RuleSection>? Rules { get; set; }
    /// <summary>Owned by the notifier; kept opaque here.</summary>
    public JsonElement? Notify { get; set; }
    /// <summary>Owned by the metrics exporter; kept opaque here.</summary>
    public JsonElement? Metrics { get; set; }
    /// <summary>History retention (<see cref="HistorySection"/>).</summary>
    public HistorySection? History { get; set; }
    /// <summary>Mounts the kernel refused because the filesystem is damaged (<see cref="UnmountableSection"/>).</summary>
    public UnmountableSection? Unmountable { get; set; }
}

/// <summary>The "unmountable" section: a mount the kernel refused because the filesystem is damaged
/// (<see cref="FsHealer.Healing.UnmountablePolicy"/>). Global only: the device has no mount point to match rules on.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class UnmountableSection
{
    /// <summary>Repair the unmounted device offline (e2fsck -fy, xfs_repair), verify, mount it as fstab says. Default false.</summary>
    public bool? Repair { get; set; }
    /// <summary>The fstab that names the mount's target and options (default /etc/fstab).</summary>
    public string? Fstab { get; set; }
    /// <summary>Mount it after a verified repair when fstab has a line for it. Default true.</summary>
    public bool? Mount { get; set; }
    /// <summary>Allow xfs_repair -L when an XFS log cannot be replayed. Default false.</summary>
    public bool? XfsZeroLog { get; set; }
    /// <summary>Only filesystems that match (uuid, fs_type, mount_point: the fstab line's; label is not supported here).</summary>
    public MatchSection? Match { get; set; }
}

/// <summary>The "history" section: how much history the daemon keeps.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class HistorySection
{
    /// <summary>Events older than this many days are deleted (default 90; also "90d", "12w").</summary>
    public double? MaxAgeDays { get; set; }
    /// <summary>The database is kept below this many MiB (default 64; also "64M", "1G"); the oldest events go first.</summary>
    public double? MaxSizeMb { get; set; }
}

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class XfsSection
{
    /// <summary>autofsck | repair | report | off</summary>
    public string? Policy { get; set; }
    /// <summary>Where online repair is impossible (no online scrub in the kernel, or it failed): unmount an idle,
    /// non-root XFS, xfs_repair it and mount it again. Default false.</summary>
    public bool? OfflineRepair { get; set; }
}

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class Ext4Section
{
    /// <summary>report | schedule | offline-repair</summary>
    public string? Policy { get; set; }
    /// <summary>The scheduled check of an ext4 on an LVM logical volume runs on a snapshot of this many MiB of
    /// copy-on-write space (e2scrub's snap_size_mb); the volume group needs that much free. Default 256.</summary>
    public long? SnapshotSizeMb { get; set; }
}

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class BtrfsSection
{
    public bool? AutoScrub { get; set; }
    /// <summary>Bytes per second per device; 0 = unlimited.</summary>
    public long? ScrubSpeedLimit { get; set; }
    public bool? ReadOnlyScrub { get; set; }
    /// <summary>Seconds between scheduled full scrubs; 0 = none.</summary>
    public long? FullScrubIntervalSeconds { get; set; }
    /// <summary>The scheduled check (scheduled_check.enabled) also unmounts an idle, non-root btrfs after a clean or
    /// corrected scrub and runs <c>btrfs check --readonly</c> on it, then mounts it again. Default false.</summary>
    public bool? OfflineCheck { get; set; }
    /// <summary>When that offline check found damage: <c>btrfs check --repair</c> and a verifying
    /// <c>btrfs check --readonly</c> before mounting it again (upstream warns --repair can make things worse). Default false.</summary>
    public bool? OfflineRepair { get; set; }
}

/// <summary>The scheduled full check (latent damage): when a filesystem's last successful check is older than
/// max_check_age_seconds, check it — when idle, one check per disk at a time, within a budget.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class ScheduledCheckSection
{
    /// <summary>Default false. Needs max_check_age_seconds (it says when a check is due).</summary>
    public bool? Enabled { get; set; }
    /// <summary>The filesystem's block device counts as idle at or below this I/O rate (read + write). Default 1 MiB/s.</summary>
    public long? IdleIoLimit { get; set; }
    /// <summary>Each check tool is killed after this many seconds (the filesystem is mounted again); 0 = no limit. Default 6 h.</summary>
    public long? MaxDurationSeconds { get; set; }
    /// <summary>"HH:MM-HH:MM", local time, may wrap midnight: start checks only inside it. Default: any time.</summary>
    public string? Window { get; set; }
}

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class MatchSection
{
    public string? MountPoint { get; set; }
    public string? Uuid { get; set; }
    public string? Label { get; set; }
    public string? FsType { get; set; }
}

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class RuleSection
{
    public string? Name { get; set; }
    public MatchSection? Match { get; set; }
    public long? PollIntervalSeconds { get; set; }
    public long? FullCheckIntervalSeconds { get; set; }
    public long? MaxCheckAgeSeconds { get; set; }
    public ScheduledCheckSection? ScheduledCheck { get; set; }
    public XfsSection? Xfs { get; set; }
    public Ext4Section? Ext4 { get; set; }
    public BtrfsSection? Btrfs { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ConfigDocument))]
public partial class ConfigJsonContext : JsonSerializerContext;

public enum XfsPolicy { Autofsck, Repair, Report, Off }
public enum Ext4Policy { Report, Schedule, OfflineRepair }

/// <summary>What fshealer does on one filesystem: the global sections overlaid by the first matching rule.</summary>
public sealed record EffectivePolicy
{
    public string Rule { get; init; } = "(defaults)";
    public XfsPolicy Xfs { get; init; } = XfsPolicy.Autofsck;
    public Ext4Policy Ext4 { get; init; } = Ext4Policy.Report;
    /// <summary>ext4.snapshot_size_mb: the check snapshot's copy-on-write space (MiB).</summary>
    public long Ext4SnapshotSizeMb { get; init; } = DefaultSnapshotSizeMb;
    public const long DefaultSnapshotSizeMb = 256;
    /// <summary>The largest ext4.snapshot_size_mb accepted: 16 TiB.</summary>
    public const long MaxSnapshotSizeMb = 16L << 20;
    /// <summary>xfs.offline_repair: unmount, xfs_repair and remount an idle non-root XFS that cannot be repaired online.</summary>
    public bool XfsOfflineRepair { get; init; }
    public bool BtrfsAutoScrub { get; init; } = true;
    public long BtrfsScrubSpeedLimit { get; init; }
    public bool BtrfsReadOnlyScrub { get; init; }
    public TimeSpan? BtrfsFullScrubInterval { get; init; }
    /// <summary>btrfs.offline_check: the scheduled check unmounts an idle non-root btrfs for btrfs check --readonly.</summary>
    public bool BtrfsOfflineCheck { get; init; }
    /// <summary>btrfs.offline_repair: damage the offline check found is repaired (btrfs check --repair) and verified.</summary>
    public bool BtrfsOfflineRepair { get; init; }
    /// <summary>How often level state is polled where the kernel sends no events (XFS before 7.0, btrfs counters, ext4
    /// error counters, block devices): poll_interval_seconds, else the daemon's --poll-interval.</summary>
    public TimeSpan PollInterval { get; init; } = DefaultPollInterval;
    /// <summary>Minimum time between two full checks (xfs_scrub@ starts) of one filesystem, doubled while triggers keep
    /// coming (<see cref="FsHealer.Healing.ActionGate"/>). Zero: no limit, a full check for every trigger (xfs_healer).</summary>
    public TimeSpan FullCheckInterval { get; init; } = DefaultFullCheckInterval;
    /// <summary>Check freshness limit (max_check_age_seconds); null = off.</summary>
    public TimeSpan? MaxCheckAge { get; init; }
    /// <summary>scheduled_check.enabled: a full check when the last successful one is older than <see cref="MaxCheckAge"/>.</summary>
    public bool ScheduledCheck { get; init; }
    /// <summary>scheduled_check.idle_io_limit.</summary>
    public long ScheduledCheckIdleIoLimit { get; init; } = DefaultIdleIoLimit;
    /// <summary>scheduled_check.max_duration_seconds; null = no limit.</summary>
    public TimeSpan? ScheduledCheckMaxDuration { get; init; } = DefaultScheduledCheckMaxDuration;
    /// <summary>scheduled_check.window; null = any time.</summary>
    public FsHealer.Healing.CheckWindow? ScheduledCheckWindow { get; init; }

    public const long DefaultIdleIoLimit = 1 << 20;
    public static readonly TimeSpan DefaultScheduledCheckMaxDuration = TimeSpan.FromHours(6);

    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultFullCheckInterval = TimeSpan.FromMinutes(5);
    public static readonly EffectivePolicy Defaults = new();

    public static string Name(XfsPolicy p) => p switch
    {
        XfsPolicy.Autofsck => "autofsck", XfsPolicy.Repair => "repair", XfsPolicy.Report => "report", _ => "off",
    };
    public static string Name(Ext4Policy p) => p switch
    {
        Ext4Policy.Report => "report", Ext4Policy.Schedule => "schedule", _ => "offline-repair",
    };

    /// <summary>Machine-readable name of what the policy does on a filesystem of type <paramref name="fsType"/>
    /// (the configuration's policy names: "autofsck", "offline-repair", ...; btrfs: "scrub", "read-only-scrub", "report").</summary>
    public string ActionName(string fsType) => fsType switch
    {
        "xfs" => Name(Xfs),
        "ext4" => Name(Ext4),
        "btrfs" => BtrfsAutoScrub ? (BtrfsReadOnlyScrub ? "read-only-scrub" : "scrub") : "report",
        _ => "unsupported",
    };

    /// <summary>One line: what the policy would do on a filesystem of type <paramref name="fsType"/>.</summary>
    public string Describe(string fsType) => fsType switch
    {
        "xfs" => Xfs switch
        {
            XfsPolicy.Autofsck => "xfs: follow the autofsck property (repair/check/report)",
            XfsPolicy.Repair => "xfs: online repair of sick metadata",
            XfsPolicy.Report => "xfs: report only",
            _ => "xfs: not monitored",
        } + (XfsOfflineRepair && Xfs != XfsPolicy.Off ? "; offline repair (unmount, xfs_repair, remount) when online repair is impossible" : ""),
        "ext4" => Ext4 switch
        {
            Ext4Policy.Report => "ext4: report errors only",
            Ext4Policy.Schedule => "ext4: schedule e2fsck at next boot",
            _ => "ext4: offline repair (unmount, e2fsck, remount)",
        },
        "btrfs" => (BtrfsAutoScrub ? $"btrfs: {(BtrfsReadOnlyScrub ? "read-only " : "")}scrub when error counters rise" : "btrfs: report counter rises only")
            + (BtrfsScrubSpeedLimit > 0 ? $", limit {BtrfsScrubSpeedLimit} B/s" : "")
            + (BtrfsFullScrubInterval is { } iv ? $", full scrub every {iv.TotalHours:0.#}h" : "")
            + (BtrfsOfflineCheck ? $"; scheduled check: scrub, then unmount for btrfs check --readonly{(BtrfsOfflineRepair ? " (--repair if damaged)" : "")}" : ""),
        _ => "unsupported filesystem type",
    } + (MaxCheckAge is { } ma ? $", a successful check at least every {Freshness.FormatAge(ma)}" : "")
      + (ScheduledCheck && MaxCheckAge is not null ? $" (scheduled when idle{(ScheduledCheckWindow is { } w ? $", {w}" : "")})" : "") + $" (rule {Rule})";
}

/// <summary>How much history the daemon keeps: events older than <see cref="MaxAge"/> go, and the database stays
/// below <see cref="MaxBytes"/> (oldest first). The facts status needs survive both: per filesystem the newest
/// successful check, the first attach, the latest attach with its policy decision.</summary>
public sealed record HistoryRetention(TimeSpan MaxAge, long MaxBytes)
{
    public static readonly HistoryRetention Default = new(TimeSpan.FromDays(90), 64L << 20);
}

/// <summary>The identity of a filesystem that rules match against.</summary>
public sealed record FsIdentity(string MountPoint, string FsType, string? Uuid = null, string? Label = null);

/// <summary>One rule after validation.</summary>
public sealed record ConfigRule(string Name, string? MountPoint, string? Uuid, string? Label, string? FsType, RuleSection Section)
{
    public bool Matches(FsIdentity fs) =>
        (MountPoint is null || Glob.IsMatch(MountPoint, fs.MountPoint)) &&
        (FsType is null || Glob.IsMatch(FsType, fs.FsType)) &&
        (Uuid is null || (fs.Uuid is not null && Glob.IsMatch(Uuid.ToLowerInvariant(), fs.Uuid.ToLowerInvariant()))) &&
        (Label is null || (fs.Label is not null && Glob.IsMatch(Label, fs.Label)));
}

/// <summary>A validated configuration.</summary>
public sealed class FsHealerConfig
{
    public const string DefaultPath = "/etc/fshealer/fshealer.json";
    public const string DefaultStateDir = "/var/lib/fshealer";

    public string? SourcePath { get; init; }
    public string StateDir { get; init; } = DefaultStateDir;
    public EffectivePolicy Global { get; init; } = EffectivePolicy.Defaults;
    public IReadOnlyList<ConfigRule> Rules { get; init; } = [];
    public ConfigDocument Document { get; init; } = new();
    /// <summary>History retention (the "history" section, validated).</summary>
    public HistoryRetention History { get; init; } = HistoryRetention.Default;
    /// <summary>Notifications (the "notify" section, validated; defaults when absent).</summary>
    public FsHealer.Service.Notify.NotifySettings Notify { get; init; } = FsHealer.Service.Notify.NotifySettings.Defaults;
    /// <summary>Mounts refused because the filesystem is damaged (the "unmountable" section, validated; off when absent).</summary>
    public FsHealer.Healing.UnmountablePolicy Unmountable { get; init; } = FsHealer.Healing.UnmountablePolicy.Off;
    /// <summary>Metrics exporter (the "metrics" section, validated; off when absent).</summary>
    public FsHealer.Service.Metrics.MetricsSettings Metrics { get; init; } = FsHealer.Service.Metrics.MetricsSettings.Off;

    public static FsHealerConfig Default { get; } = new();

    /// <summary>First matching rule wins; no match → the global policy.</summary>
    public EffectivePolicy PolicyFor(FsIdentity fs)
    {
        foreach (var r in Rules)
            if (r.Matches(fs)) return ConfigLoader.Overlay(Global, r.Section, r.Name);
        return Global;
    }

    /// <summary>The rule that matches, or null (global policy).</summary>
    public ConfigRule? RuleFor(FsIdentity fs) => Rules.FirstOrDefault(r => r.Matches(fs));

    /// <summary>The document as JSON (unknown sections included).</summary>
    public string ToJson() => JsonSerializer.Serialize(Document, ConfigJsonContext.Default.ConfigDocument);
}

using FsHealer.Config;
using FsHealer.Fanotify.Live;
using FsHealer.Model;
using FsHealer.Mounts;
using FsHealer.Mounts.Live;
using FsHealer.Service;

namespace FsHealer.Healing.Live;

/// <summary>A running monitor for one filesystem. It reads where the filesystem is mounted from its
/// <see cref="WatchedFilesystem"/> each time it needs it (a move changes that attribute, nothing else), never holds an
/// fd on it between operations, and hands problems that online repair cannot fix to the healing pipeline.</summary>
public interface IFsWatcher : IDisposable
{
    /// <summary>How this filesystem is watched ("XFS health monitor", "fanotify FAN_FS_ERROR", ...).</summary>
    string How { get; }
    /// <summary>The filesystem moved (<see cref="WatchedFilesystem.Path"/> is already the new place).</summary>
    void Moved() { }
    /// <summary>The filesystem was unmounted (called before <see cref="IDisposable.Dispose"/>; not when the daemon stops).</summary>
    void Detached() { }
}

/// <summary>Creates the watcher of one filesystem type (a data table maps types to factories, <see cref="Watchers"/>).</summary>
public delegate IFsWatcher? WatcherFactory(WatchedFilesystem fs, DaemonContext ctx);

public sealed record DaemonOptions
{
    public string? MountNamespace { get; init; }
    public string StateDir { get; init; } = FsHealerConfig.DefaultStateDir;
    public string? ConfigPath { get; init; }
    /// <summary>Stop after this long (tests, demo); null = until SIGTERM/SIGINT.</summary>
    public TimeSpan? Duration { get; init; }
    public bool Repair { get; init; }
    /// <summary>Allow unmount + offline repair + remount of idle, non-root filesystems when online repair is impossible
    /// (ext4 policy offline-repair and xfs offline_repair for every filesystem).</summary>
    public bool OfflineRepair { get; init; }
    /// <summary>--poll-interval when given: the poll interval of filesystems whose configuration rule sets none.</summary>
    public TimeSpan? PollInterval { get; init; }
    /// <summary>Scheduled media scan interval (null = off) and its bandwidth limit.</summary>
    public TimeSpan? MediaScanInterval { get; init; }
    public long MediaScanBytesPerSecond { get; init; } = 50L << 20;
    /// <summary>ext4 with errors: make sure the next boot-time check repairs it (tune2fs -E force_fsck).</summary>
    public bool Ext4Schedule { get; init; }
    /// <summary>How long a stop request waits for a running offline repair before killing its tool and mounting the
    /// filesystem again unrepaired. The service unit's TimeoutStopSec must be longer.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Per-mount mode (<c>fshealer watch MNT…</c>): watch only the filesystems mounted at these places at start
    /// (each is followed when it moves, and taken back when an offline repair mounts it again); the daemon ends when
    /// they are all gone.</summary>
    public IReadOnlySet<string>? Only { get; init; }
    /// <summary>Applied last to every filesystem's policy: the per-mount commands' own switches (ext4-watch --policy,
    /// btrfs watch --readonly, ...).</summary>
    public Func<EffectivePolicy, EffectivePolicy>? PolicyOverlay { get; init; }
    /// <summary>btrfs watch --state: the file that keeps the last-seen device counters (default: in the state directory).</summary>
    public string? BtrfsStateFile { get; init; }
    /// <summary>Resolve inode handles of error events to paths (ext4-watch --no-paths turns it off).</summary>
    public bool ResolvePaths { get; init; } = true;
    /// <summary>Only filesystems of this type (per-mount commands named after a type: ext4-watch, xfs-poll, btrfs watch).</summary>
    public string? OnlyType { get; init; }
}

/// <summary>
/// The daemon's shared state, one per daemon (nothing static): options, configuration, the event hub, the healing
/// pipeline, and the fanotify error group shared by every filesystem that reports through FAN_FS_ERROR (created with
/// the first such watcher, closed with the last).
/// </summary>
public sealed class DaemonContext : IDisposable
{
    public DaemonContext(IHealerConsole console, DaemonOptions options, ConfigStore? config = null, IHealHost? host = null)
    {
        Console = console;
        Options = options;
        Config = config;
        Events = new EventHub(d => SafeErr($"fshealer: {d}"));
        Healing = new HealingPipeline(Events, console, host ?? new LiveHealHost
        {
            BtrfsScrubbers = id => BtrfsHealers.TryGetValue(id, out var h) ? h : null, ScrubConsole = console,
        });
    }

    /// <summary>The btrfs healer of each watched btrfs, by identity: the scheduled check's full scrub runs through it.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, FsHealer.Btrfs.IBtrfsFullScrub> BtrfsHealers { get; } = new(StringComparer.Ordinal);

    public IHealerConsole Console { get; }
    public DaemonOptions Options { get; }
    /// <summary>Every watcher publishes here; history, status, notifications and metrics subscribe.</summary>
    public EventHub Events { get; }
    /// <summary>The configuration (reloaded on SIGHUP); null = built-in defaults.</summary>
    public ConfigStore? Config { get; }
    public HealingPipeline Healing { get; }

    private void SafeErr(string line) { try { Console.Err(line); } catch (Exception) { } }

    private readonly Lock _groupLock = new();
    private FsErrorGroup? _errorGroup;
    private int _errorGroupUsers;

    /// <summary>The shared FAN_FS_ERROR group; <see cref="ReleaseErrorGroup"/> once per successful call.</summary>
    public FsErrorGroup? AcquireErrorGroup(out string? error)
    {
        lock (_groupLock)
        {
            error = null;
            if (_errorGroup is null)
            {
                _errorGroup = FsErrorGroup.Create(this, Options.ResolvePaths, out error);
                if (_errorGroup is null) return null;
            }
            _errorGroupUsers++;
            return _errorGroup;
        }
    }

    public void ReleaseErrorGroup()
    {
        lock (_groupLock)
        {
            if (_errorGroup is null || --_errorGroupUsers > 0) return;
            _errorGroup.Dispose();
            _errorGroup = null;
        }
    }

    /// <summary>The effective policy of a filesystem about to be attached: global settings (with --poll-interval as
    /// the default poll interval), overlaid by the first matching rule, raised by the command-line switches.</summary>
    public EffectivePolicy ComputePolicy(MountTarget t)
    {
        var cfg = Config?.Current;
        // UUID/label lookups (udev links, blkid) only when a rule matches on them: attach stays cheap otherwise
        var id = cfg is not null && cfg.Rules.Any(r => r.Uuid is not null || r.Label is not null)
            ? SupportedFilesystems.Identify(t)
            : new FsIdentity(t.PreferredPath, t.FsType);
        var basis = cfg?.Global ?? EffectivePolicy.Defaults;
        if (Options.PollInterval is { } cli) basis = basis with { PollInterval = cli };
        var rule = cfg?.RuleFor(id);
        var p = rule is null ? basis : ConfigLoader.Overlay(basis, rule.Section, rule.Name);
        // command-line switches raise the policy (they never lower what the configuration asks for)
        if (Options.Repair && p.Xfs is XfsPolicy.Autofsck or XfsPolicy.Report) p = p with { Xfs = XfsPolicy.Repair };
        if (Options.OfflineRepair) p = p with { Ext4 = Ext4Policy.OfflineRepair, XfsOfflineRepair = p.Xfs != XfsPolicy.Off };
        else if (Options.Ext4Schedule && p.Ext4 == Ext4Policy.Report) p = p with { Ext4 = Ext4Policy.Schedule };
        return Options.PolicyOverlay is { } overlay ? overlay(p) : p;
    }

    public void Dispose()
    {
        Healing.Dispose();
        lock (_groupLock) { _errorGroup?.Dispose(); _errorGroup = null; }
    }
}

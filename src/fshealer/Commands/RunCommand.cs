using System.CommandLine;
using System.Runtime.InteropServices;
using FsHealer.Btrfs.Live;
using FsHealer.Devices.Live;
using FsHealer.Ext4.Live;
using FsHealer.Healing.Live;
using FsHealer.Media.Live;
using FsHealer.Xfs.Live;
using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;

namespace FsHealer.Cli.Commands;

/// <summary>`fshealer run`: the daemon that watches every supported filesystem.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "Configuration file (default /etc/fshealer/fshealer.json)." };
        var stateDir = new Option<string?>("--state-dir") { Description = "State directory (history, counters); default from the configuration, /var/lib/fshealer." };
        var ns = new Option<string?>("--mount-namespace") { Description = "Mount namespace file to follow (default: our own, /proc/self/ns/mnt)." };
        var duration = CliOptions.Duration("--duration", "Stop after this long (e.g. 90s, 2h; testing, demos).", min: TimeSpan.Zero);
        var repair = new Option<bool>("--repair") { Description = "Repair online where the kernel can (otherwise the XFS autofsck property decides)." };
        var offline = new Option<bool>("--offline-repair") { Description = "Allow offline repair (unmount, fsck, remount) of idle, non-root filesystems that cannot be repaired online." };
        var interval = CliOptions.Duration("--poll-interval", "How often to poll health where the kernel sends no events (default 10s; e.g. 30s, 5m).",
            min: TimeSpan.FromMilliseconds(100), max: TimeSpan.FromDays(1));
        var cmd = new Command("run", "Run the daemon: follow every mount and heal every supported filesystem (XFS, ext4, btrfs).");
        cmd.Options.Add(config);
        cmd.Options.Add(stateDir);
        cmd.Options.Add(ns);
        cmd.Options.Add(duration);
        cmd.Options.Add(repair);
        cmd.Options.Add(offline);
        cmd.Options.Add(interval);
        var schedule = new Option<bool>("--schedule-fsck") { Description = "ext4 with errors: schedule a boot-time check (tune2fs -E force_fsck) instead of only reporting." };
        cmd.Options.Add(schedule);
        var mediaEvery = new Option<string?>("--media-scan-interval") { Description = "Read-verify every filesystem's media this often (e.g. 30d, 2w; default off).", HelpName = "DURATION" };
        var mediaLimit = CliOptions.Size("--media-scan-speed-limit", "Media scan bandwidth limit per filesystem, bytes/s (e.g. 50M, the default; 0 = unlimited).");
        cmd.Options.Add(mediaEvery);
        cmd.Options.Add(mediaLimit);
        var mediaLimitOld = CliOptions.HiddenAlias(cmd, CliOptions.Size("--media-scan-limit", ""));
        cmd.SetAction(pr =>
        {
            TimeSpan? mediaInterval = null;
            if (pr.GetValue(mediaEvery) is { } me && !FsHealer.Media.MediaScanSchedule.TryParseInterval(me, out mediaInterval, out var merr))
            {
                Console.Error.WriteLine($"fshealer run: --media-scan-interval: {merr}");
                return ExitCodes.Usage;
            }
            var console = new TextWriterConsole(Console.Out, Console.Error);
            void Diag(string m) => console.Err($"fshealer: {m}");

            // configuration: a broken file at start is an error (say why); on SIGHUP a broken file keeps the old one
            var store = FsHealer.Config.Live.ConfigFile.Store(pr.GetValue(config), out var first);
            if (!first.Ok)
            {
                foreach (var e in first.Errors) console.Err($"fshealer: configuration: {e}");
                console.Err($"fshealer: not starting: the configuration has {first.Errors.Count} error(s) (fshealer config check {pr.GetValue(config) ?? FsHealer.Config.FsHealerConfig.DefaultPath})");
                return ExitCodes.Config;
            }
            var cfg = store.Current;
            var state = pr.GetValue(stateDir) ?? cfg.StateDir;
            var opts = new DaemonOptions
            {
                StateDir = state,
                MediaScanInterval = mediaInterval,
                MediaScanBytesPerSecond = (long)Math.Min(CliOptions.Get(pr, mediaLimit, mediaLimitOld) ?? 50UL << 20, long.MaxValue),
                ConfigPath = pr.GetValue(config),
                MountNamespace = pr.GetValue(ns),
                Duration = pr.GetValue(duration),
                Repair = pr.GetValue(repair),
                OfflineRepair = pr.GetValue(offline),
                Ext4Schedule = pr.GetValue(schedule),
                PollInterval = pr.GetValue(interval) ?? TimeSpan.FromSeconds(10),
            };
            if ((opts.Repair || opts.OfflineRepair || opts.Ext4Schedule) && !FsHealer.Interop.Capabilities.RequireForRepair(out var why, "fshealer run"))
            {
                console.Err(why);
                return 1;
            }
            // one daemon per state directory: two would heal the same filesystems twice
            using var instance = FsHealer.Service.Live.DaemonLock.TryAcquire(opts.StateDir, out var lockState, out var lockMessage);
            if (lockState == FsHealer.Service.Live.LockState.HeldByAnother)
            {
                console.Err($"fshealer: {lockMessage}");
                return 1;
            }
            // a state directory someone else could have planted or swapped (a symlink, another owner, writable by
            // others): refuse it, like sshd's StrictModes, rather than chmod its target or trust its history
            if (lockState == FsHealer.Service.Live.LockState.Unsafe)
            {
                console.Err($"fshealer: {lockMessage}");
                return ExitCodes.Config;
            }
            // an unusable state directory (read-only after errors, full) must not stop a health daemon
            if (lockState == FsHealer.Service.Live.LockState.Unavailable)
                Diag($"{lockMessage}; running without the single-instance lock: make sure no other fshealer daemon uses {opts.StateDir}");
            else if (lockMessage is not null) Diag(lockMessage);

            using var cts = new CancellationTokenSource();
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
            using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cts.Cancel(); });
            using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
            {
                c.Cancel = true;
                var r = store.Reload();
                if (r.Ok) console.Out($"fshealer: configuration reloaded from {store.Current.SourcePath ?? "(defaults)"}; applies to filesystems attached from now on");
                else foreach (var e in r.Errors) Diag($"configuration reload failed, keeping the old one: {e}");
            });

            var metrics = new FsHealer.Service.Metrics.MetricsSink();
            var daemon = new FsHealerDaemon(opts, console, Watchers.Factories, store)
            {
                FreshnessLookup = mount => LastGoodCheckFromHistory(opts.StateDir, mount, Diag),
                FreshnessObserved = s => metrics.SetFreshness(s.Mount, s.FsType, s.LastGoodCheck, s.Overdue),
            };
            metrics.WatchedSource = () => daemon.Watched;
            // event sinks: history, notifications, metrics, journal
            using var history = FsHealer.Service.History.Live.HistorySink.Open(opts.StateDir, Diag, out var herr, cfg.History);
            if (history is null) Diag($"history disabled: {herr}");
            else
            {
                daemon.Events.Add(history);
                ReportInterruptedActions(opts.StateDir, daemon.Events, console);
            }
            // the notify and metrics sections were validated with the rest of the file (an invalid one refused the start)
            var notifySettings = cfg.Notify;
            var metricsSettings = cfg.Metrics;
            using var notifier = cfg.Document.Notify is not null
                ? FsHealer.Service.Notify.Live.NotifyDestinations.CreateDispatcher(notifySettings, Diag, version: Cli.Version) : null;
            if (notifier is not null)
            {
                notifier.WatchedSource = () => daemon.Watched;
                daemon.Events.Add(notifier);
            }
            metrics.SetUp(true, DateTimeOffset.UtcNow);
            daemon.Events.Add(metrics);
            using var metricsServer = metricsSettings is { Enabled: true } ? FsHealer.Service.Metrics.Live.MetricsServer.Start(metricsSettings, metrics, Diag) : null;
            if (Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not null)
                daemon.Events.Add(FsHealer.Service.Journal.Live.JournalSink.Create(Console.Error));
            return daemon.Run(cts.Token);
        });
        return cmd;
    }

    /// <summary>Check freshness of one mount point from the history (two bounded index walks; only for filesystems
    /// with max_check_age_seconds). A missing or unreadable history: nothing known (the daemon counts from now).</summary>
    private static (DateTimeOffset?, DateTimeOffset?) LastGoodCheckFromHistory(string stateDir, string mount, Action<string> diag)
    {
        using var store = FsHealer.Service.History.Live.HistoryStore.Open(stateDir, out _, readOnly: true);
        if (store is null) return (null, null);
        try { return store.FreshnessFacts(mount); }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            diag($"{store.Path}: cannot read the last successful check of {mount}: {e.Message}");
            return (null, null);
        }
    }

    private const int MaxInterruptedReported = 100;

    /// <summary>Actions that started before a crash and never finished: say so loudly, and whether the filesystem
    /// they were working on is mounted now (an interrupted offline repair can leave it unmounted).</summary>
    private static void ReportInterruptedActions(string stateDir, FsHealer.Model.EventHub events, TextWriterConsole console)
    {
        using var store = FsHealer.Service.History.Live.HistoryStore.Open(stateDir, out _, readOnly: true);
        if (store is null) return;
        // only the candidates, found in SQL (ActionJournal.Interrupted's definition): a large history is not loaded
        List<FsHealer.Service.History.Live.StoredEvent> interrupted;
        try { interrupted = store.InterruptedActions(DateTimeOffset.UtcNow.AddDays(-30), MaxInterruptedReported + 1); }
        catch (Microsoft.Data.Sqlite.SqliteException e) { console.Err($"fshealer: {store.Path}: cannot look for interrupted actions: {e.Message}"); return; }
        if (interrupted.Count == 0) return;
        if (interrupted.Count > MaxInterruptedReported)
        {
            console.Err($"fshealer: more than {MaxInterruptedReported} interrupted actions in the last 30 days; reporting the {MaxInterruptedReported} most recent (see fshealer history)");
            interrupted.RemoveAt(0); // the oldest
        }
        var mounts = FsHealer.Xfs.Live.XfsMounts.All().Select(e => e.MountPoint).ToHashSet(StringComparer.Ordinal);
        foreach (var a in interrupted.Select(r => r.Event))
        {
            bool mounted = mounts.Contains(a.Mount);
            var msg = $"{a.Mount}: INTERRUPTED: \"{a.Message}\" (started {FsHealer.Text.TimeFormat.Utc(a.Time)}) never finished — fshealer stopped during it; " +
                      (mounted ? "the filesystem is mounted; check it (fshealer status) and let the policy act again"
                               : $"the filesystem is NOT MOUNTED now: check {a.Device} (e2fsck/xfs_repair -n) and mount it again");
            console.Err(msg);
            events.Publish(new FsHealer.Model.FsEvent
            {
                Class = FsHealer.Model.EventClass.ActionInterrupted, Severity = FsHealer.Model.Severity.Critical,
                Mount = a.Mount, FsType = a.FsType, Device = a.Device, CorrelationId = a.CorrelationId, Message = msg,
            });
        }
    }
}

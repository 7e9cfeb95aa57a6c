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
        var duration = new Option<double?>("--duration") { Description = "Stop after this many seconds (testing, demos)." };
        var repair = new Option<bool>("--repair") { Description = "Repair online where the kernel can (otherwise the XFS autofsck property decides)." };
        var offline = new Option<bool>("--offline-repair") { Description = "Allow offline repair (unmount, fsck, remount) of idle, non-root filesystems that cannot be repaired online." };
        var interval = new Option<double>("--poll-interval") { Description = "Seconds between health polls where the kernel sends no events.", DefaultValueFactory = _ => 10 };
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
        var mediaEvery = new Option<string?>("--media-scan-interval") { Description = "Read-verify every filesystem's media this often (e.g. 30d; default off)." };
        var mediaLimit = new Option<long>("--media-scan-limit") { Description = "Media scan bandwidth limit in bytes/s.", DefaultValueFactory = _ => 50L << 20 };
        cmd.Options.Add(mediaEvery);
        cmd.Options.Add(mediaLimit);
        cmd.SetAction(pr =>
        {
            TimeSpan? mediaInterval = null;
            if (pr.GetValue(mediaEvery) is { } me && !FsHealer.Media.MediaScanSchedule.TryParseInterval(me, out mediaInterval, out var merr))
            {
                Console.Error.WriteLine($"fshealer run: --media-scan-interval: {merr}");
                return 2;
            }
            var console = new TextWriterConsole(Console.Out, Console.Error);
            void Diag(string m) => console.Err($"fshealer: {m}");

            // configuration: a broken file at start is an error (say why); on SIGHUP a broken file keeps the old one
            var store = FsHealer.Config.Live.ConfigFile.Store(pr.GetValue(config), out var first);
            if (!first.Ok)
            {
                foreach (var e in first.Errors) console.Err($"fshealer: configuration: {e}");
                return 2;
            }
            var cfg = store.Current;
            var state = pr.GetValue(stateDir) ?? cfg.StateDir;
            var opts = new DaemonOptions
            {
                StateDir = state,
                MediaScanInterval = mediaInterval,
                MediaScanBytesPerSecond = pr.GetValue(mediaLimit),
                ConfigPath = pr.GetValue(config),
                MountNamespace = pr.GetValue(ns),
                Duration = pr.GetValue(duration) is { } s ? TimeSpan.FromSeconds(s) : null,
                Repair = pr.GetValue(repair),
                OfflineRepair = pr.GetValue(offline),
                Ext4Schedule = pr.GetValue(schedule),
                PollInterval = TimeSpan.FromSeconds(Math.Clamp(pr.GetValue(interval), 0.1, 86400)),
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
            using var history = FsHealer.Service.History.Live.HistorySink.Open(opts.StateDir, Diag, out var herr);
            if (history is null) Diag($"history disabled: {herr}");
            else
            {
                daemon.Events.Add(history);
                ReportInterruptedActions(opts.StateDir, daemon.Events, console);
            }
            var errors = new List<string>();
            var notifySettings = FsHealer.Service.Notify.NotifySettings.Parse(cfg.Document.Notify, errors, Environment.MachineName);
            var metricsSettings = FsHealer.Service.Metrics.MetricsSettings.Parse(cfg.Document.Metrics, errors);
            foreach (var e in errors) Diag($"configuration: {e}");
            using var notifier = cfg.Document.Notify is not null && notifySettings is not null
                ? FsHealer.Service.Notify.Live.NotifyDestinations.CreateDispatcher(notifySettings, Diag) : null;
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
            var msg = $"{a.Mount}: INTERRUPTED: \"{a.Message}\" (started {a.Time:u}) never finished — fshealer stopped during it; " +
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

using System.Runtime.InteropServices;
using FsHealer.Config;
using FsHealer.Healing.Live;
using FsHealer.Model;
using FsHealer.Service;
using FsHealer.Service.History.Live;

namespace FsHealer.Cli.Commands;

/// <summary>
/// Builds and runs the daemon for <c>fshealer run</c> (every filesystem, the full service: single-instance lock,
/// history, notifications, metrics, journal, SIGHUP reload) and for the per-mount commands (<c>watch</c>,
/// <c>ext4-watch</c>, <c>xfs-poll</c>, <c>btrfs watch</c>: the same daemon restricted to the given mount points, its
/// console on stdout/stderr, and the history when a state directory is given). One daemon, one set of watchers, one
/// healing pipeline: the same fault gives the same events and decisions in both.
/// </summary>
public static class DaemonHost
{
    /// <summary>Run the daemon until SIGTERM/SIGINT (or --duration). <paramref name="history"/>: record the history in
    /// <see cref="DaemonOptions.StateDir"/>.</summary>
    public static int Run(DaemonOptions opts, ConfigStore store, IHealerConsole console, bool service, bool history,
        Action<FsHealerDaemon>? configure = null)
    {
        void Diag(string m) { try { console.Err($"fshealer: {m}"); } catch (Exception) { } }

        if ((opts.Repair || opts.OfflineRepair || opts.Ext4Schedule) && !FsHealer.Interop.Capabilities.RequireForRepair(out var why, service ? "fshealer run" : "fshealer watch"))
        {
            console.Err(why);
            return 1;
        }
        FsHealer.Service.Live.DaemonLock? instance = null;
        if (service)
        {
            // one daemon per state directory: two would heal the same filesystems twice
            instance = FsHealer.Service.Live.DaemonLock.TryAcquire(opts.StateDir, out var lockState, out var lockMessage);
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
        }
        using var _ = instance;

        using var cts = new CancellationTokenSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cts.Cancel(); });

        var metrics = service ? new FsHealer.Service.Metrics.MetricsSink() : null;
        var services = new ServiceSinks(console);
        var daemon = new FsHealerDaemon(opts, console, Watchers.Factories, store)
        {
            ReloadServices = service ? (cfg, apply) => services.Reload(cfg, apply) : null,
            FreshnessLookup = history ? (fsId, mount) => LastGoodCheckFromHistory(opts.StateDir, fsId, mount, Diag) : null,
            FreshnessObserved = metrics is null ? null : s => metrics.SetFreshness(s.Mount, s.FsType, s.LastGoodCheck, s.Overdue),
        };
        // SIGHUP (ExecReload=kill -HUP): the daemon reloads everything on its own thread, between RELOADING=1 and READY=1
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; daemon.RequestReload(); });

        // event sinks: history, notifications, metrics, journal
        HistorySink? historySink = null;
        if (history)
        {
            historySink = HistorySink.Open(opts.StateDir, Diag, out var herr, out var movedAside, store.Current.History);
            if (historySink is null) Diag($"history disabled: {herr}; offline repairs will not run (their start cannot be recorded)");
            else
            {
                daemon.Events.Add(historySink);
                if (movedAside is not null)
                {
                    console.Err($"fshealer: HISTORY DATABASE CORRUPT: {movedAside}");
                    daemon.Events.Publish(new FsEvent
                    {
                        Class = EventClass.Diagnostic, Severity = Severity.Critical, Mount = "", FsType = "",
                        Message = $"history database corrupt: {movedAside}",
                    });
                }
                if (service) ReportInterruptedActions(opts.StateDir, daemon.Events, console);
            }
        }
        using var historyScope = historySink;
        if (service)
        {
            services.Attach(daemon, metrics!);
            foreach (var e in services.Reload(store.Current, apply: true)) Diag($"configuration: {e}");
            metrics!.WatchedSource = () => daemon.Watched;
            metrics.SetUp(true, DateTimeOffset.UtcNow);
            metrics.SetBuildInfo(Cli.Version, RuntimeInformation.FrameworkDescription,
                aot: !System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported);
            var sampler = new FsHealer.Service.Metrics.Live.ProcessSampler();
            metrics.ProcessSource = sampler.Sample;
            daemon.Events.Add(metrics);
        }
        using var servicesScope = services;
        // the journal: through the console when it is the journal (one record per event), else the native sink
        if (console is FsHealer.Service.Journal.Live.JournalConsole journalConsole) daemon.Events.Add(journalConsole);
        else if (Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not null)
            daemon.Events.Add(FsHealer.Service.Journal.Live.JournalSink.Create(Console.Error));
        configure?.Invoke(daemon);
        return daemon.Run(cts.Token);
    }

    /// <summary>
    /// The service settings the configuration carries — notification destinations and the metrics exporter — built from
    /// a configuration, and rebuilt on a reload: the new ones are checked first (errors: nothing changes), then swapped
    /// in for the old ones in the event hub, which are then closed.
    /// </summary>
    private sealed class ServiceSinks(IHealerConsole console) : IDisposable
    {
        private FsHealerDaemon? _daemon;
        private FsHealer.Service.Metrics.MetricsSink? _metrics;
        private FsHealer.Service.Notify.NotifyDispatcher? _notifier;
        private FsHealer.Service.Metrics.Live.MetricsServer? _server;
        private string _notifyShape = "", _metricsShape = "";

        public void Attach(FsHealerDaemon daemon, FsHealer.Service.Metrics.MetricsSink metrics) { _daemon = daemon; _metrics = metrics; }

        private void Diag(string m) { try { console.Err($"fshealer: {m}"); } catch (Exception) { } }

        public IReadOnlyList<string> Reload(FsHealerConfig cfg, bool apply)
        {
            // the notify and metrics sections were validated with the rest of the file (an invalid one is refused whole)
            var errors = new List<string>();
            var notifySettings = cfg.Notify;
            var metricsSettings = cfg.Metrics;
            if (!apply || _daemon is null) return errors;
            string notifyShape = cfg.Document.Notify?.GetRawText() ?? "", metricsShape = cfg.Document.Metrics?.GetRawText() ?? "";
            if (notifyShape != _notifyShape)
            {
                var next = cfg.Document.Notify is not null
                    ? FsHealer.Service.Notify.Live.NotifyDestinations.CreateDispatcher(notifySettings, Diag, version: Cli.Version) : null;
                if (next is not null) next.WatchedSource = () => _daemon.Watched;
                _daemon.Events.Replace(_notifier, next);
                if (_notifier is not null) console.Out($"fshealer: notifications reconfigured{(next is null ? ": off" : "")}");
                _notifier?.Dispose();
                _notifier = next;
                _notifyShape = notifyShape;
            }
            if (metricsShape != _metricsShape && _metrics is not null)
            {
                var old = _server;
                old?.Dispose();   // the new listener may want the same address
                _server = metricsSettings is { Enabled: true } ? FsHealer.Service.Metrics.Live.MetricsServer.Start(metricsSettings, _metrics, Diag) : null;
                if (old is not null) console.Out($"fshealer: metrics exporter reconfigured{(_server is null ? ": off" : "")}");
                _metricsShape = metricsShape;
            }
            return errors;
        }

        public void Dispose()
        {
            _notifier?.Dispose();
            _server?.Dispose();
        }
    }

    /// <summary>Check freshness of one filesystem from the history (bounded index walks; only for filesystems with
    /// max_check_age_seconds). A missing or unreadable history: nothing known (the daemon counts from now).</summary>
    private static (DateTimeOffset?, DateTimeOffset?) LastGoodCheckFromHistory(string stateDir, string fsId, string mount, Action<string> diag)
    {
        using var store = HistoryStore.Open(stateDir, out _, readOnly: true);
        if (store is null) return (null, null);
        try { return store.FreshnessFacts(new FsSelector(fsId, mount)); }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            diag($"{store.Path}: cannot read the last successful check of {mount}: {e.Message}");
            return (null, null);
        }
    }

    private const int MaxInterruptedReported = 100;

    /// <summary>Actions that started before a crash and never finished: say so loudly, and whether the filesystem
    /// they were working on is mounted now (an interrupted offline repair can leave it unmounted).</summary>
    private static void ReportInterruptedActions(string stateDir, EventHub events, IHealerConsole console)
    {
        using var store = HistoryStore.Open(stateDir, out _, readOnly: true);
        if (store is null) return;
        // only the candidates, found in SQL (ActionJournal.Interrupted's definition): a large history is not loaded
        List<StoredEvent> interrupted;
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
            // an unmountable filesystem's repair has no mount point: it is named by its device
            var msg = $"{(a.Mount.Length > 0 ? a.Mount : a.Device)}: INTERRUPTED: \"{a.Message}\" (started {FsHealer.Text.TimeFormat.Utc(a.Time)}) never finished — fshealer stopped during it; " +
                      (mounted ? "the filesystem is mounted; check it (fshealer status) and let the policy act again"
                               : $"the filesystem is NOT MOUNTED now: check {a.Device} (e2fsck/xfs_repair -n) and mount it again");
            console.Err(msg);
            events.Publish(new FsEvent
            {
                Class = EventClass.ActionInterrupted, Severity = Severity.Critical, FsId = a.FsId,
                Mount = a.Mount, FsType = a.FsType, Device = a.Device, CorrelationId = a.CorrelationId, Message = msg,
            });
        }
    }

    /// <summary>Under systemd (<c>$JOURNAL_STREAM</c> set and the journal socket there): the console that writes the
    /// daemon's lines and its events to the journal as one record each (<see cref="FsHealer.Service.Journal.Live.JournalConsole"/>);
    /// null otherwise (plain stdout/stderr).</summary>
    public static FsHealer.Service.Journal.Live.JournalConsole? JournalConsole()
    {
        if (Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not { Length: > 0 }) return null;
        var sink = FsHealer.Service.Journal.Live.JournalSink.Create(Console.Error);
        if (sink.UsesJournal) return new FsHealer.Service.Journal.Live.JournalConsole(sink, ownsSink: true);
        sink.Dispose();
        return null;
    }

    /// <summary>The per-mount commands: <paramref name="mounts"/> made absolute (a trailing '/' dropped).</summary>
    public static IReadOnlySet<string> MountSet(IEnumerable<string> mounts) =>
        mounts.Select(m => Path.TrimEndingDirectorySeparator(Path.GetFullPath(m)) is { Length: > 0 } p ? p : "/").ToHashSet(StringComparer.Ordinal);
}

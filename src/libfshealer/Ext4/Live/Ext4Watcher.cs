using FsHealer.Btrfs.Live;
using FsHealer.Devices.Live;
using FsHealer.Healing.Live;
using FsHealer.Media.Live;
using FsHealer.Xfs.Live;
using System.Collections.Concurrent;
using FsHealer.Ext4;
using FsHealer.Fanotify;
using FsHealer.Mounts;
using FsHealer.Ext4.Live;
using FsHealer.Fanotify.Live;

namespace FsHealer.Ext4.Live;

/// <summary>
/// ext4 (and, from Linux 7.0, any filesystem that reports errors): one shared fanotify FAN_FS_ERROR group with a
/// filesystem mark per watched filesystem, the sysfs error counters reconciled against the events, and the healing
/// policy (report / schedule a boot-time check / offline repair of an idle non-root filesystem).
/// </summary>
public sealed class Ext4Watcher : IFsWatcher
{
    private static readonly object Lock = new();
    private static FsErrorWatcher? _shared;
    private static BlockingCollection<FsErrorReport>? _reports;
    private static Thread? _consumer;
    private static readonly ConcurrentDictionary<string, DateTime> LastHeal = new();

    private string _mnt;
    public string How { get; }

    private Ext4Watcher(string mnt, string how) { _mnt = mnt; How = how; }

    public static IFsWatcher? Create(MountTarget t, DaemonContext ctx)
    {
        lock (Lock)
        {
            if (_shared is null)
            {
                _reports = new BlockingCollection<FsErrorReport>(new ConcurrentQueue<FsErrorReport>(), 65536);
                var reports = _reports;
                _shared = FsErrorWatcher.Create(r => { if (!reports.TryAdd(r)) ctx.Console.Err($"{r.MountPoint}: error report queue full; the sysfs counters will account for it"); },
                    d => ctx.Console.Err($"fshealer: {d}"), resolvePaths: true, out var error);
                if (_shared is null)
                {
                    ctx.Console.Err($"{t.PreferredPath}: cannot watch filesystem errors: {error}");
                    return null;
                }
                _shared.Start();
                _consumer = new Thread(() => Consume(ctx)) { IsBackground = true, Name = "fs-error-consumer" };
                _consumer.Start();
            }
            int added = _shared.Add(t.PreferredPath, out var err);
            if (added == FsHealer.Text.Errno.EEXIST)
                ctx.Console.Err($"{t.PreferredPath}: already watched (the filesystem was remounted before its old mount went away)");
            else if (added != 0)
            {
                ctx.Console.Err($"{t.PreferredPath}: {err}");
                return null;
            }
        }
        var effective = ctx.PolicyFor(t);
        var policy = Map(effective.Ext4);
        Policies[t.PreferredPath] = (policy, effective.Rule);
        return new Ext4Watcher(t.PreferredPath, $"fanotify FAN_FS_ERROR + sysfs error counters; policy {policy.ToString().ToLowerInvariant()}");
    }

    /// <summary>Per mount point: the heal policy and the config rule it came from.</summary>
    private static readonly ConcurrentDictionary<string, (Ext4HealPolicy Policy, string Rule)> Policies = new();

    private static (Ext4HealPolicy Policy, string Rule) Policy(string? mount) =>
        mount is not null && Policies.TryGetValue(mount, out var p) ? p : (Ext4HealPolicy.Report, "(defaults)");

    private static Ext4HealPolicy Map(FsHealer.Config.Ext4Policy p) => p switch
    {
        FsHealer.Config.Ext4Policy.OfflineRepair => Ext4HealPolicy.OfflineRepair,
        FsHealer.Config.Ext4Policy.Schedule => Ext4HealPolicy.Schedule,
        _ => Ext4HealPolicy.Report,
    };

    private static void Consume(DaemonContext ctx)
    {
        foreach (var r in _reports!.GetConsumingEnumerable())
        {
            try
            {
                ctx.Console.Out($"{r.MountPoint ?? "?"}: {r}");
                ctx.Events.Publish(new FsHealer.Model.FsEvent
                {
                    Class = r.Event.Kind switch
                    {
                        FsErrorKind.Missed => FsHealer.Model.EventClass.ErrorsMissed,
                        FsErrorKind.Overflow => FsHealer.Model.EventClass.EventsLost,
                        _ => r.Event.Error == 5 ? FsHealer.Model.EventClass.IoError : FsHealer.Model.EventClass.MetadataCorrupt,
                    },
                    Severity = FsHealer.Model.Severity.Error,
                    Mount = r.MountPoint ?? "?", FsType = "ext4", Device = r.Device, Message = r.ToString(),
                    Inode = r.Event.Inode, Path = r.Path, Errno = r.Event.Error, Count = r.Event.ErrorCount,
                });
                var (policy, rule) = Policy(r.MountPoint);
                if (policy == Ext4HealPolicy.Report || r.MountPoint is null || r.Event.Kind == FsErrorKind.Overflow) continue;
                // one heal per filesystem per minute: the remount itself may report the errors ext4 recorded
                if (LastHeal.TryGetValue(r.MountPoint, out var last) && DateTime.UtcNow - last < TimeSpan.FromMinutes(1)) continue;
                LastHeal[r.MountPoint] = DateTime.UtcNow;
                var m = Ext4SysfsReader.FindMount(r.MountPoint);
                if (m is null || m.FullFsType != "ext4") { ctx.Console.Out($"{r.MountPoint}: no longer an ext4 mount; nothing to heal"); continue; }
                var plan = Ext4HealPlanner.Plan(new Ext4HealInput
                {
                    MountPoint = m.MountPoint, Device = m.Source, Options = Ext4MountOptions.Of(m), HasErrors = true,
                    IsRootFs = m.MountPoint == "/", Busy = null, Policy = policy,
                });
                ctx.Console.Out($"{m.MountPoint}: heal plan: {plan}");
                var cid = FsHealer.Model.ActionJournal.NewCorrelationId();
                ctx.Events.Publish(new FsHealer.Model.FsEvent
                {
                    Class = FsHealer.Model.EventClass.Decision, Severity = FsHealer.Model.Severity.Notice,
                    Mount = m.MountPoint, FsType = "ext4", Device = m.Source, CorrelationId = cid,
                    Message = $"{m.MountPoint}: decision ({policy} policy, rule {rule}): {plan}",
                });
                ctx.Events.PublishDurable(new FsHealer.Model.FsEvent
                {
                    Class = FsHealer.Model.EventClass.ActionStarted, Severity = FsHealer.Model.Severity.Warning,
                    Mount = m.MountPoint, FsType = "ext4", Device = m.Source, CorrelationId = cid,
                    Message = $"{m.MountPoint}: heal of {m.Source} started: {plan.Decision}",
                });
                var outcome = new OfflineRepairExecutor(new ProcessCommandRunner(), s => ctx.Console.Out($"{m.MountPoint}: {s}")).Execute(plan);
                ctx.Console.Out($"{m.MountPoint}: heal {outcome.Final}: {(outcome.Success ? "succeeded" : "FAILED")}");
                ctx.Events.Publish(new FsHealer.Model.FsEvent
                {
                    Class = outcome.Final == Ext4PlanDecision.Schedule ? FsHealer.Model.EventClass.CheckScheduled : FsHealer.Model.EventClass.OfflineRepair,
                    Severity = outcome.Success ? FsHealer.Model.Severity.Notice : FsHealer.Model.Severity.Critical,
                    Mount = m.MountPoint, FsType = "ext4", Device = m.Source, CorrelationId = cid,
                    Message = $"{m.MountPoint}: heal {outcome.Final}: {(outcome.Success ? "succeeded" : "FAILED")}",
                });
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                ctx.Console.Err($"{r.MountPoint}: healing failed: {ex.Message}");
            }
        }
    }

    public void Moved(string newPath)
    {
        lock (Lock)
        {
            _shared?.Remove(_mnt);
            // the filesystem keeps the policy it was attached with (and its heal rate limit): error reports now name
            // the new mount point, and without this they fell back to "report" silently
            if (Policies.TryRemove(_mnt, out var policy)) Policies[newPath] = policy;
            if (LastHeal.TryRemove(_mnt, out var healed)) LastHeal[newPath] = healed;
            _mnt = newPath;
            _shared?.Add(newPath, out _);
        }
    }

    public void Dispose()
    {
        lock (Lock) _shared?.Remove(_mnt);
    }
}

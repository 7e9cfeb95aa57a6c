using FsHealer.Btrfs.Live;
using FsHealer.Devices.Live;
using FsHealer.Ext4.Live;
using FsHealer.Healing.Live;
using FsHealer.Media.Live;
using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Mounts;
using FsHealer.Interop;
using FsHealer.Xfs.Live;

namespace FsHealer.Xfs.Live;

/// <summary>
/// XFS on kernels without the 7.0 health monitor: poll the in-core sick bits (geometry, AG geometry, bulkstat),
/// woken early by matching kernel-log lines, and hand the synthesized events to the same engine (planner, formatter,
/// full-check gate) the live monitor uses. Online repair is used when the kernel has it; otherwise, when the policy
/// allows, the offline ladder repairs an idle non-root filesystem (unmount, xfs_repair, remount, verify).
/// </summary>
public sealed class XfsPollWatcher : IFsWatcher
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    public string How { get; }

    private readonly string? _device;

    private readonly bool _offline;

    private XfsPollWatcher(MountTarget target, string mnt, XfsSupport support, DaemonContext ctx, TimeSpan interval, string? device)
    {
        _device = device;
        var policy = ctx.PolicyFor(target);
        var wantRepair = policy.Xfs == FsHealer.Config.XfsPolicy.Repair && support.HasOnlineRepair;
        _offline = policy.Ext4 == FsHealer.Config.Ext4Policy.OfflineRepair || ctx.Options.OfflineRepair;
        How = $"no XFS health monitor on this kernel: polling in-core health every {interval.TotalSeconds:0.#} s" +
              (wantRepair ? ", online repair" : support.HasOnlineRepair ? ", reporting" : ", no online scrub: " +
               (_offline ? "offline repair when idle" : "reporting"));
        _thread = new Thread(() => Loop(mnt, wantRepair, ctx, interval)) { IsBackground = true, Name = "xfs-poll" };
        _thread.Start();
    }

    public static IFsWatcher? Create(MountTarget t, DaemonContext ctx)
    {
        var support = XfsHealthPoller.ProbeSupport(t.PreferredPath, out var diag);
        if (diag is not null)
        {
            ctx.Console.Err($"{t.PreferredPath}: {diag}");
            return null;
        }
        return new XfsPollWatcher(t, t.PreferredPath, support, ctx, ctx.Options.PollInterval, t.Source);
    }

    private void Loop(string mnt, bool wantRepair, DaemonContext ctx, TimeSpan interval)
    {
        var con = ctx.Console;
        IXfsTarget? target = null;
        var engine = new XfsHealerEngine(new XfsEngineSettings { Mountpoint = mnt, WantRepair = wantRepair }, target, new FsHealer.Service.Live.SystemctlUnitManager(), con)
            { Sink = ctx.Events, Device = _device };
        var poller = new XfsHealthPoller(mnt);
        using var kmsg = KmsgReader.Open(out _);
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            poller.DrainKernelLog(kmsg, d => con.Err($"{mnt}: {d}")); // shutdown reasons come from the log
            var r = poller.Poll((ulong)DateTime.UtcNow.Subtract(DateTime.UnixEpoch).Ticks * 100);
            bool sick = false;
            foreach (var e in r.Events)
            {
                engine.Handle(e);
                sick |= e.Type == HealthEventType.Sick;
            }
            foreach (var (ino, errno) in r.NewUnreadableInodes)
                con.Err($"{mnt} ino {ino}: unreadable ({FsHealer.Text.Errno.Name(errno)}, {FsHealer.Text.Errno.Message(errno)}); offline repair needed");
            foreach (var d in r.Diagnostics) con.Err($"{mnt}: {d}");
            if (r.ShutDown || r.Events.Exists(e => e.Type == HealthEventType.Unmount)) return;

            if ((sick || r.NewUnreadableInodes.Count > 0) && !wantRepair && _offline)
            {
                con.Out($"{mnt}: damaged metadata and no online repair: trying offline repair (unmount, xfs_repair, remount)");
                var cid = FsHealer.Model.ActionJournal.NewCorrelationId();
                ctx.Events.PublishDurable(new FsHealer.Model.FsEvent
                {
                    Class = FsHealer.Model.EventClass.ActionStarted, Severity = FsHealer.Model.Severity.Warning,
                    Mount = mnt, FsType = "xfs", Device = _device, CorrelationId = cid,
                    Message = $"{mnt}: offline repair of {_device} started (unmount, xfs_repair, remount)",
                });
                var report = XfsOfflineRepair.Repair(mnt);
                foreach (var s in report.Steps) con.Out($"{mnt}: offline repair: {s}");
                con.Out($"{mnt}: offline repair {report.Outcome}: {report.Summary}");
                ctx.Events.Publish(new FsHealer.Model.FsEvent
                {
                    Class = FsHealer.Model.EventClass.OfflineRepair,
                    Severity = report.Outcome.ToString().StartsWith("Repaired", StringComparison.Ordinal) ? FsHealer.Model.Severity.Notice : FsHealer.Model.Severity.Error,
                    Mount = mnt, FsType = "xfs", Device = _device, CorrelationId = cid, Message = $"{mnt}: offline repair {report.Outcome}: {report.Summary}",
                });
                poller = new XfsHealthPoller(mnt); // the remounted filesystem starts with clean in-core state
            }

            var until = DateTime.UtcNow + interval;
            while (!ct.IsCancellationRequested && DateTime.UtcNow < until)
            {
                if (poller.DrainKernelLog(kmsg, d => con.Err($"{mnt}: {d}"))) break;
                ct.WaitHandle.WaitOne(200);
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join(TimeSpan.FromSeconds(10));
    }
}

using FsHealer.Config;
using FsHealer.Healing;
using FsHealer.Healing.Live;
using FsHealer.Interop;
using FsHealer.Model;
using FsHealer.Service.Live;
using FsHealer.Text;

namespace FsHealer.Xfs.Live;

/// <summary>
/// XFS on kernels without the 7.0 health monitor: poll the in-core sick bits (geometry, AG geometry, bulkstat) every
/// poll interval of the filesystem's policy, woken early by matching kernel-log lines, and hand the synthesized events
/// to the same engine (planner, formatter, full-check gate) the live monitor uses. Online repair is used when the
/// kernel has it. Sick metadata that cannot be repaired online, and unreadable inodes, go to the healing pipeline
/// (xfs.offline_repair decides). The mount point is read from the filesystem each poll: a move is followed.
/// </summary>
public sealed class XfsPollWatcher : IFsWatcher
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly WatchedFilesystem _fs;
    private volatile bool _unmounted;
    public string How { get; }

    private XfsPollWatcher(WatchedFilesystem fs, XfsSupport support, DaemonContext ctx)
    {
        _fs = fs;
        var policy = fs.Policy;
        var wantRepair = policy.Xfs == XfsPolicy.Repair && support.HasOnlineRepair;
        var interval = policy.PollInterval;
        How = $"no XFS health monitor on this kernel: polling in-core health every {interval.TotalSeconds:0.#} s" +
              (wantRepair ? ", online repair" : support.HasOnlineRepair ? ", reporting" : ", no online scrub: " +
               (policy.XfsOfflineRepair ? "offline repair when idle" : "reporting"));
        _thread = new Thread(() => Loop(wantRepair, ctx, interval)) { IsBackground = true, Name = "xfs-poll" };
        _thread.Start();
    }

    public static IFsWatcher? Create(WatchedFilesystem fs, DaemonContext ctx)
    {
        var support = XfsHealthPoller.ProbeSupport(fs.Path, out var diag);
        if (diag is not null)
        {
            ctx.Console.Err($"{fs.Path}: {diag}");
            return null;
        }
        return new XfsPollWatcher(fs, support, ctx);
    }

    private void Loop(bool wantRepair, DaemonContext ctx, TimeSpan interval)
    {
        var con = ctx.Console;
        string mnt = _fs.Path;
        var sink = new WatchedSink(_fs, ctx);
        var engine = new XfsHealerEngine(new XfsEngineSettings { Mountpoint = mnt, WantRepair = wantRepair, FullCheckInterval = _fs.Policy.FullCheckInterval, FailedRepairBackoff = XfsEngineSettings.DaemonRepairBackoff(_fs.Policy.FullCheckInterval) },
            null, new SystemctlUnitManager(), con) { Sink = sink, Device = _fs.Source };
        var poller = new XfsHealthPoller(mnt);
        using var kmsg = KmsgReader.Open(out var kmsgDiag);
        if (kmsg is null) con.Err($"{mnt}: kernel log not watched ({kmsgDiag}); problems are found by polling every {interval.TotalSeconds:0.#} s" +
            (kmsgDiag?.Contains("EPERM") == true ? "; reading /dev/kmsg under kernel.dmesg_restrict=1 needs CAP_SYSLOG (fshealer.service grants it)" : ""));
        var ct = _stop.Token;
        // unmounted while we waited: say so as the health monitor does (UNMOUNT)
        try { Poll(); }
        finally { if (_unmounted) engine.Handle(HealthMonitorEvent.Unmount()); }
        return;

        void Poll()
        {
        while (!ct.IsCancellationRequested)
        {
            if (_fs.Path != mnt)
            {
                // moved: poll the new place (same superblock; the poller's state stays valid)
                mnt = _fs.Path;
                engine = new XfsHealerEngine(new XfsEngineSettings { Mountpoint = mnt, WantRepair = wantRepair, FullCheckInterval = _fs.Policy.FullCheckInterval, FailedRepairBackoff = XfsEngineSettings.DaemonRepairBackoff(_fs.Policy.FullCheckInterval) },
                    null, new SystemctlUnitManager(), con) { Sink = sink, Device = _fs.Source };
                poller.MovedTo(mnt);
            }
            poller.DrainKernelLog(kmsg, d => con.Err($"{mnt}: {d}")); // shutdown reasons come from the log
            var r = poller.Poll((ulong)DateTime.UtcNow.Subtract(DateTime.UnixEpoch).Ticks * 100);
            if (_fs.Path != mnt) continue;   // moved while we polled: what the old path showed is not this filesystem's
            bool sick = false;
            foreach (var e in r.Events)
            {
                engine.Handle(e);
                sick |= e.Type == HealthEventType.Sick;
            }
            foreach (var (ino, errno) in r.NewUnreadableInodes)
                con.Err($"{mnt} ino {ino}: unreadable ({Errno.Name(errno)}, {Errno.Message(errno)}); offline repair needed");
            foreach (var d in r.Diagnostics) con.Err($"{mnt}: {d}");
            if (r.Events.Exists(e => e.Type == HealthEventType.Unmount)) { _unmounted = false; return; }
            if (r.ShutDown)
            {
                // a shut-down XFS is repaired offline (unmount, xfs_repair, mount again) where the policy allows it
                if (ctx.Healing.Submit(_fs, "the filesystem is shut down"))
                    con.Err($"{mnt}: shut down: offline repair requested (xfs.offline_repair)");
                // nothing more to poll (every ioctl fails with EIO) until it is unmounted; like xfs_healer, stay
                // attached until then
                ct.WaitHandle.WaitOne();
                return;
            }

            if ((sick || r.NewUnreadableInodes.Count > 0) && !wantRepair)
                ctx.Healing.Submit(_fs, sick ? "sick metadata and no online repair" : "unreadable inodes");

            var until = DateTime.UtcNow + interval;
            while (!ct.IsCancellationRequested && DateTime.UtcNow < until)
            {
                if (poller.DrainKernelLog(kmsg, d => con.Err($"{mnt}: {d}"))) break;
                ct.WaitHandle.WaitOne(200);
            }
        }
        }
    }

    public void Detached() => _unmounted = true;

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join(TimeSpan.FromSeconds(10));
    }
}

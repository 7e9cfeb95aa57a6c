using FsHealer.Config;
using FsHealer.Healing;
using FsHealer.Healing.Live;
using FsHealer.Model;
using FsHealer.Service;
using FsHealer.Text;

namespace FsHealer.Xfs.Live;

/// <summary>
/// XFS through the Linux 7.0 health monitor: the xfs_healer pipeline on its own thread. The monitor fd does not pin
/// the mount; the engine exits when the kernel reports UNMOUNT. Returns null when the kernel has no monitor, so that
/// the caller can fall back (health polling on older kernels). A repair the kernel cannot do online ("offline repair
/// required") goes to the healing pipeline, which applies xfs.offline_repair.
/// </summary>
public sealed class XfsMonitorWatcher : IFsWatcher
{
    private readonly Thread _thread;
    public string How { get; }

    private XfsMonitorWatcher(LiveXfsPlatform platform, XfsHealerEngine engine, IRecordSource source, string how)
    {
        How = how;
        _thread = new Thread(() => { engine.Run(source); platform.Dispose(); }) { IsBackground = true, Name = "xfs-monitor" };
        _thread.Start();
    }

    public static IFsWatcher? Create(WatchedFilesystem fs, DaemonContext ctx, out bool ownedByAnother)
    {
        var platform = new LiveXfsPlatform();
        ownedByAnother = false;
        var session = new XfsHealerSession(ctx.Console);
        var policy = fs.Policy;
        var o = new XfsHealerOptions
        {
            Mountpoint = fs.Path,
            Repair = policy.Xfs == XfsPolicy.Repair,
            Autofsck = policy.Xfs == XfsPolicy.Autofsck,
            FullCheckIntervalSeconds = policy.FullCheckInterval.TotalSeconds,
        };
        var (result, settings, target, source) = session.Setup(o, platform, quietUnsupported: true);
        if (result != XfsHealerSession.SetupResult.Start)
        {
            // EEXIST: xfs_healer (or another fshealer) already owns this filesystem's health monitor: defer to it
            ownedByAnother = platform.LastMonitorErrno == Errno.EEXIST;
            platform.Dispose();
            return null;
        }
        var sink = new WatchedSink(fs, ctx, e => e.Class == EventClass.RepairFailed ? $"online repair failed: {e.Message}" : null);
        // unlike the drop-in: a structure whose repair failed is not repaired again within the full-check window
        // (at least a minute), so a repair that makes the kernel report it sick again does not loop
        var engine = new XfsHealerEngine(settings! with { FailedRepairBackoff = XfsEngineSettings.DaemonRepairBackoff(policy.FullCheckInterval) }, target, platform.Units, ctx.Console) { Sink = sink, Device = fs.Source };
        return new XfsMonitorWatcher(platform, engine, source!, settings!.WantRepair ? "XFS health monitor, repairing" : "XFS health monitor, reporting");
    }

    /// <summary>The monitor detaches by itself on unmount (UNMOUNT event, then EOF); nothing to force here.</summary>
    public void Dispose() => _thread.Join(TimeSpan.FromSeconds(5));
}

/// <summary>Another healer owns the filesystem (xfs_healer@ holds its health monitor): report, don't compete.</summary>
public sealed class DeferredWatcher : IFsWatcher
{
    public string How => "health monitor already owned by another healer (xfs_healer?); deferring to it";
    public void Dispose() { }
}

/// <summary>The configuration turned this filesystem off.</summary>
public sealed class DisabledWatcher : IFsWatcher
{
    public string How => "not watched (xfs policy \"off\" in the configuration)";
    public void Dispose() { }
}

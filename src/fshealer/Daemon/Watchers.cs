using FsHealer.Core.Engine;
using FsHealer.Core.Mounts;
using FsHealer.Core.Xfs;
using FsHealer.Linux.Xfs;

namespace FsHealer.Cli.Daemon;

/// <summary>The fs type → watcher table of the daemon.</summary>
public static class Watchers
{
    public static readonly IReadOnlyDictionary<string, WatcherFactory> Factories = new Dictionary<string, WatcherFactory>
    {
        // the Linux 7.0 health monitor, else in-core health polling
        ["xfs"] = (t, ctx) => ctx.PolicyFor(t).Xfs == FsHealer.Core.Config.XfsPolicy.Off
            ? new DisabledWatcher()
            : XfsMonitorWatcher.Create(t, ctx, out bool owned) ?? (owned ? new DeferredWatcher() : XfsPollWatcher.Create(t, ctx)),
        ["btrfs"] = BtrfsWatcher.Create,
        ["ext4"] = Ext4Watcher.Create,
    };
}

/// <summary>
/// XFS through the Linux 7.0 health monitor: the xfs_healer pipeline on its own thread. The monitor fd does not pin
/// the mount; the engine exits when the kernel reports UNMOUNT. Returns null when the kernel has no monitor, so that
/// the caller can fall back (health polling on older kernels).
/// </summary>
public sealed class XfsMonitorWatcher : IFsWatcher
{
    private readonly Thread _thread;
    private readonly LiveXfsPlatform _platform;
    public string How { get; }

    private XfsMonitorWatcher(LiveXfsPlatform platform, XfsHealerEngine engine, IRecordSource source, string how)
    {
        _platform = platform;
        How = how;
        _thread = new Thread(() => { engine.Run(source); platform.Dispose(); }) { IsBackground = true, Name = "xfs-monitor" };
        _thread.Start();
    }

    public static IFsWatcher? Create(MountTarget t, DaemonContext ctx, out bool ownedByAnother)
    {
        var platform = new LiveXfsPlatform();
        ownedByAnother = false;
        var session = new XfsHealerSession(ctx.Console);
        var policy = ctx.PolicyFor(t);
        var o = new XfsHealerOptions
        {
            Mountpoint = t.PreferredPath,
            Repair = policy.Xfs == FsHealer.Core.Config.XfsPolicy.Repair,
            Autofsck = policy.Xfs == FsHealer.Core.Config.XfsPolicy.Autofsck,
            FullCheckIntervalSeconds = (policy.FullCheckInterval ?? TimeSpan.FromMinutes(5)).TotalSeconds,
        };
        var (result, settings, target, source) = session.Setup(o, platform, quietUnsupported: true);
        if (result != XfsHealerSession.SetupResult.Start)
        {
            // EEXIST: xfs_healer (or another fshealer) already owns this filesystem's health monitor: defer to it
            ownedByAnother = platform.LastMonitorErrno == FsHealer.Core.Text.Errno.EEXIST;
            platform.Dispose();
            return null;
        }
        var engine = new XfsHealerEngine(settings!, target, platform.Units, ctx.Console) { Sink = ctx.Events, Device = t.Source };
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

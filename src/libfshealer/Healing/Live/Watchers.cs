using FsHealer.Btrfs.Live;
using FsHealer.Devices.Live;
using FsHealer.Ext4.Live;
using FsHealer.Media.Live;
using FsHealer.Xfs.Live;
using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Mounts;

namespace FsHealer.Healing.Live;

/// <summary>The fs type → watcher table of the daemon.</summary>
public static class Watchers
{
    public static readonly IReadOnlyDictionary<string, WatcherFactory> Factories = new Dictionary<string, WatcherFactory>
    {
        // the Linux 7.0 health monitor, else in-core health polling
        ["xfs"] = (t, ctx) => ctx.PolicyFor(t).Xfs == FsHealer.Config.XfsPolicy.Off
            ? new DisabledWatcher()
            : XfsMonitorWatcher.Create(t, ctx, out bool owned) ?? (owned ? new DeferredWatcher() : XfsPollWatcher.Create(t, ctx)),
        ["btrfs"] = BtrfsWatcher.Create,
        ["ext4"] = Ext4Watcher.Create,
    };
}

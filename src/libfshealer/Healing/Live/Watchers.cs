using FsHealer.Btrfs.Live;
using FsHealer.Config;
using FsHealer.Ext4.Live;
using FsHealer.Xfs.Live;

namespace FsHealer.Healing.Live;

/// <summary>The fs type → watcher table of the daemon.</summary>
public static class Watchers
{
    public static readonly IReadOnlyDictionary<string, WatcherFactory> Factories = new Dictionary<string, WatcherFactory>
    {
        // the Linux 7.0 health monitor, else in-core health polling
        ["xfs"] = (fs, ctx) => fs.Policy.Xfs == XfsPolicy.Off
            ? new DisabledWatcher()
            : XfsMonitorWatcher.Create(fs, ctx, out bool owned) ?? (owned ? new DeferredWatcher() : XfsPollWatcher.Create(fs, ctx)),
        ["btrfs"] = BtrfsWatcher.Create,
        ["ext4"] = Ext4Watcher.Create,
    };
}

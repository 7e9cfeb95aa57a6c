using System.CommandLine;
using FsHealer.Interop;

namespace FsHealer.Cli.Commands;

/// <summary>
/// `fshealer watch MOUNTPOINT [options]` — the per-mount mode for systemd template units: picks the watcher by
/// filesystem type (XFS: the xfs_healer engine, or health polling on kernels without the monitor; ext4: FAN_FS_ERROR;
/// btrfs: device counters + scrub) and runs it in the foreground. Extra options go to that watcher.
/// </summary>
public static class WatchCommand
{
    private const long XfsMagic = 0x58465342, Ext4Magic = 0xEF53, BtrfsMagic = 0x9123683E;

    private static bool HasHealthMonitor(string mnt)
    {
        using var root = Libc.Open(mnt, Libc.O_RDONLY | Libc.O_DIRECTORY, out _);
        if (root.IsInvalid) return false;
        using var mon = XfsIoctl.OpenHealthMonitor(root, false, out int err);
        return err is 0 or FsHealer.Text.Errno.EEXIST;
    }

    public static Command Create()
    {
        var cmd = new Command("watch", "Watch one mounted filesystem in the foreground (per-mount mode for systemd template units); the watcher is chosen by filesystem type.");
        cmd.TreatUnmatchedTokensAsErrors = false;
        return cmd;
    }

    public static int Run(IReadOnlyList<string> args)
    {
        var mnt = args.FirstOrDefault(a => !a.StartsWith('-'));
        if (mnt is null)
        {
            Console.Error.WriteLine("Usage: fshealer watch MOUNTPOINT [watcher options]");
            return 1;
        }
        int e = Statfs.Get(mnt, out long type, out _);
        if (e != 0)
        {
            Console.Error.WriteLine($"{mnt}: statfs: {FsHealer.Text.Errno.Message(e)}");
            return 1;
        }
        string[] rest = [.. args.Where(a => a != mnt)];
        switch (type)
        {
            case XfsMagic:
                // the 7.0 health monitor when the kernel has one, else polling
                if (HasHealthMonitor(mnt)) return XfsHealerCommand.Run([.. rest, mnt]);
                return Cli.Run(["xfs-poll", mnt, .. rest]);
            case Ext4Magic:
                return Cli.Run(["ext4-watch", mnt, .. rest]);
            case BtrfsMagic:
                return Cli.Run(["btrfs", "watch", mnt, .. rest]);
            default:
                Console.Error.WriteLine($"{mnt}: filesystem type 0x{type:x} is not supported (XFS, ext4, btrfs)");
                return 1;
        }
    }
}

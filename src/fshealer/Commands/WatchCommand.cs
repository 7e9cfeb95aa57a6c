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
        var cmd = new Command("watch", "Watch one mounted filesystem in the foreground (per-mount mode for systemd template units); the watcher is chosen by filesystem type (fshealer watch --help lists the options of each).");
        cmd.TreatUnmatchedTokensAsErrors = false;
        return cmd;
    }

    public const string Usage = "Usage: fshealer watch MOUNTPOINT [watcher options]";

    /// <summary>The --help text: which watcher runs for which filesystem, and the options each one takes.</summary>
    public const string Help = """
        Watch one mounted filesystem in the foreground (the per-mount mode of systemd template units). The watcher is
        chosen by the filesystem type; the options after MOUNTPOINT go to it:

          XFS with the Linux 7.0 health monitor: exactly xfs_healer (fshealer xfs-healer), with its options and exit
          codes:
            --repair               repair sick metadata online (otherwise the autofsck property decides)
            --no-autofsck          ignore the autofsck property
            --everything           report every event, not only problems
            --quiet, --debug       less or more output
            --full-check-interval DURATION
                                   least time between two full checks (xfs_scrub@), default 300s; 0 = xfs_healer's behaviour
            --foreground, --svcname, --supported, -V   as xfs_healer
          XFS without the health monitor (fshealer xfs-poll):
            --poll-interval DURATION   time between polls of the sick bits (default 10s)
            --once                     poll once and exit
            --inode-budget N           most inodes bulkstatted per poll (0 = all)
          ext4 (fshealer ext4-watch):
            --policy report|schedule|offline-repair   what to do about errors (default report)
            --no-paths                 never resolve inodes to paths
            --duration DURATION        stop after this long
          btrfs (fshealer btrfs watch):
            --poll-interval DURATION   time between device counter polls (default 5s)
            --state-dir DIR            where the last-seen counters are kept
            --speed-limit SIZE         scrub bandwidth limit per device (e.g. 50M)
            --readonly                 scrub read-only
            --no-scrub                 report counter rises only
            --full-scrub-interval DURATION   scheduled full scrub this often (e.g. 30d)

        Durations: 90s, 30m, 12h, 30d, 1h30m (a bare number is seconds). Sizes: 4096, 512K, 50M, 1G.
        Exit status: the watcher's (for XFS with the health monitor, xfs_healer's); 64 on a usage error.
        """;

    public static int Run(IReadOnlyList<string> args)
    {
        if (args.Any(a => a is "--help" or "-h"))
        {
            Console.Out.WriteLine(Usage);
            Console.Out.WriteLine();
            Console.Out.Write(Help);
            return 0;
        }
        var mnt = args.FirstOrDefault(a => !a.StartsWith('-'));
        if (mnt is null)
        {
            Console.Error.WriteLine(Usage);
            Console.Error.WriteLine("Try 'fshealer watch --help' for more information.");
            return FsHealer.Cli.ExitCodes.Usage;
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
                return Cli.Dispatch(["xfs-poll", mnt, .. rest]);
            case Ext4Magic:
                return Cli.Dispatch(["ext4-watch", mnt, .. rest]);
            case BtrfsMagic:
                return Cli.Dispatch(["btrfs", "watch", mnt, .. rest]);
            default:
                Console.Error.WriteLine($"{mnt}: filesystem type 0x{type:x} is not supported (XFS, ext4, btrfs)");
                return 1;
        }
    }
}

using System.CommandLine;
using System.Runtime.InteropServices;
using FsHealer.Cli.Daemon;
using FsHealer.Core.Engine;

namespace FsHealer.Cli.Commands;

/// <summary>`fshealer run`: the daemon that watches every supported filesystem.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "Configuration file (default /etc/fshealer/fshealer.json)." };
        var stateDir = new Option<string>("--state-dir") { Description = "State directory (history, counters).", DefaultValueFactory = _ => "/var/lib/fshealer" };
        var ns = new Option<string?>("--mount-namespace") { Description = "Mount namespace file to follow (default: our own, /proc/self/ns/mnt)." };
        var duration = new Option<double?>("--duration") { Description = "Stop after this many seconds (testing, demos)." };
        var repair = new Option<bool>("--repair") { Description = "Repair online where the kernel can (otherwise the XFS autofsck property decides)." };
        var offline = new Option<bool>("--offline-repair") { Description = "Allow offline repair (unmount, fsck, remount) of idle, non-root filesystems that cannot be repaired online." };
        var interval = new Option<double>("--poll-interval") { Description = "Seconds between health polls where the kernel sends no events.", DefaultValueFactory = _ => 10 };
        var cmd = new Command("run", "Run the daemon: follow every mount and heal every supported filesystem (XFS, ext4, btrfs).");
        cmd.Options.Add(config);
        cmd.Options.Add(stateDir);
        cmd.Options.Add(ns);
        cmd.Options.Add(duration);
        cmd.Options.Add(repair);
        cmd.Options.Add(offline);
        cmd.Options.Add(interval);
        var schedule = new Option<bool>("--schedule-fsck") { Description = "ext4 with errors: schedule a boot-time check (tune2fs -E force_fsck) instead of only reporting." };
        cmd.Options.Add(schedule);
        var mediaEvery = new Option<string?>("--media-scan-interval") { Description = "Read-verify every filesystem's media this often (e.g. 30d; default off)." };
        var mediaLimit = new Option<long>("--media-scan-limit") { Description = "Media scan bandwidth limit in bytes/s.", DefaultValueFactory = _ => 50L << 20 };
        cmd.Options.Add(mediaEvery);
        cmd.Options.Add(mediaLimit);
        cmd.SetAction(pr =>
        {
            TimeSpan? mediaInterval = null;
            if (pr.GetValue(mediaEvery) is { } me && !FsHealer.Core.Media.MediaScanSchedule.TryParseInterval(me, out mediaInterval, out var merr))
            {
                Console.Error.WriteLine($"fshealer run: --media-scan-interval: {merr}");
                return 2;
            }
            var opts = new DaemonOptions
            {
                MediaScanInterval = mediaInterval,
                MediaScanBytesPerSecond = pr.GetValue(mediaLimit),
                ConfigPath = pr.GetValue(config),
                StateDir = pr.GetValue(stateDir)!,
                MountNamespace = pr.GetValue(ns),
                Duration = pr.GetValue(duration) is { } s ? TimeSpan.FromSeconds(s) : null,
                Repair = pr.GetValue(repair),
                OfflineRepair = pr.GetValue(offline),
                Ext4Schedule = pr.GetValue(schedule),
                PollInterval = TimeSpan.FromSeconds(Math.Clamp(pr.GetValue(interval), 0.1, 86400)),
            };
            using var cts = new CancellationTokenSource();
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
            using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cts.Cancel(); });
            var console = new TextWriterConsole(Console.Out, Console.Error);
            return new FsHealerDaemon(opts, console, Watchers.Factories).Run(cts.Token);
        });
        return cmd;
    }
}

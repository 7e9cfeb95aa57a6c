using System.CommandLine;
using FsHealer.Healing.Live;
using FsHealer.Service;

namespace FsHealer.Cli.Commands;

/// <summary>`fshealer run`: the daemon that watches every supported filesystem.</summary>
public static class RunCommand
{
    /// <summary>sysexits.h EX_CONFIG: the configuration is unusable (the unit does not restart on it).</summary>
    public const int ExConfig = 78;

    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "Configuration file (default /etc/fshealer/fshealer.json)." };
        var stateDir = new Option<string?>("--state-dir") { Description = "State directory (history, counters); default from the configuration, /var/lib/fshealer." };
        var ns = new Option<string?>("--mount-namespace") { Description = "Mount namespace file to follow (default: our own, /proc/self/ns/mnt)." };
        var duration = new Option<double?>("--duration") { Description = "Stop after this many seconds (testing, demos)." };
        var repair = new Option<bool>("--repair") { Description = "Repair online where the kernel can (otherwise the XFS autofsck property decides)." };
        var offline = new Option<bool>("--offline-repair") { Description = "Allow offline repair (unmount, fsck, remount) of idle, non-root filesystems that cannot be repaired online." };
        var interval = new Option<double>("--poll-interval") { Description = "Seconds between health polls where the kernel sends no events (default 10; a configuration rule's poll_interval_seconds wins).", DefaultValueFactory = _ => 10 };
        var stopGrace = new Option<double>("--stop-timeout") { Description = "On SIGTERM, seconds to let a running offline repair finish before its tool is killed and the filesystem mounted again unrepaired (default 60; keep TimeoutStopSec above it).", DefaultValueFactory = _ => 60 };
        var cmd = new Command("run", "Run the daemon: follow every mount and heal every supported filesystem (XFS, ext4, btrfs).");
        cmd.Options.Add(config);
        cmd.Options.Add(stateDir);
        cmd.Options.Add(ns);
        cmd.Options.Add(duration);
        cmd.Options.Add(repair);
        cmd.Options.Add(offline);
        cmd.Options.Add(interval);
        cmd.Options.Add(stopGrace);
        var schedule = new Option<bool>("--schedule-fsck") { Description = "ext4 with errors: schedule a boot-time check (tune2fs -E force_fsck) instead of only reporting." };
        cmd.Options.Add(schedule);
        var mediaEvery = new Option<string?>("--media-scan-interval") { Description = "Read-verify every filesystem's media this often (e.g. 30d; default off)." };
        var mediaLimit = new Option<long>("--media-scan-limit") { Description = "Media scan bandwidth limit in bytes/s.", DefaultValueFactory = _ => 50L << 20 };
        cmd.Options.Add(mediaEvery);
        cmd.Options.Add(mediaLimit);
        cmd.SetAction(pr =>
        {
            TimeSpan? mediaInterval = null;
            if (pr.GetValue(mediaEvery) is { } me && !FsHealer.Media.MediaScanSchedule.TryParseInterval(me, out mediaInterval, out var merr))
            {
                Console.Error.WriteLine($"fshealer run: --media-scan-interval: {merr}");
                return 2;
            }
            // under systemd: one journal record per event, and priorities for every other line (JournalConsole)
            using var journal = DaemonHost.JournalConsole();
            IHealerConsole console = (IHealerConsole?)journal ?? new TextWriterConsole(Console.Out, Console.Error);

            // configuration: a broken file at start is an error (say why); on SIGHUP a broken file keeps the old one
            var store = FsHealer.Config.Live.ConfigFile.Store(pr.GetValue(config), out var first);
            if (!first.Ok)
            {
                foreach (var e in first.Errors) console.Err($"fshealer: configuration: {e}");
                // EX_CONFIG: fshealer.service has RestartPreventExitStatus=78, so a broken file does not restart-loop
                return ExConfig;
            }
            var cfg = store.Current;
            var opts = new DaemonOptions
            {
                StateDir = pr.GetValue(stateDir) ?? cfg.StateDir,
                MediaScanInterval = mediaInterval,
                MediaScanBytesPerSecond = pr.GetValue(mediaLimit),
                ConfigPath = pr.GetValue(config),
                MountNamespace = pr.GetValue(ns),
                Duration = pr.GetValue(duration) is { } s ? TimeSpan.FromSeconds(s) : null,
                Repair = pr.GetValue(repair),
                OfflineRepair = pr.GetValue(offline),
                Ext4Schedule = pr.GetValue(schedule),
                PollInterval = pr.GetResult(interval) is { Implicit: false } ? TimeSpan.FromSeconds(Math.Clamp(pr.GetValue(interval), 0.1, 86400)) : null,
                StopGrace = TimeSpan.FromSeconds(Math.Clamp(pr.GetValue(stopGrace), 0, 3600)),
            };
            return DaemonHost.Run(opts, store, console, service: true, history: true);
        });
        return cmd;
    }
}

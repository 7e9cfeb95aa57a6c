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
        var duration = CliOptions.Duration("--duration", "Stop after this long (e.g. 90s, 2h; testing, demos).", min: TimeSpan.Zero);
        var repair = new Option<bool>("--repair") { Description = "Repair online where the kernel can (otherwise the XFS autofsck property decides)." };
        var offline = new Option<bool>("--offline-repair") { Description = "Allow offline repair (unmount, fsck, remount) of idle, non-root filesystems that cannot be repaired online." };
        var interval = CliOptions.Duration("--poll-interval", "How often to poll health where the kernel sends no events (default 10s; e.g. 30s, 5m; a configuration rule's poll_interval_seconds wins).",
            min: TimeSpan.FromMilliseconds(100), max: TimeSpan.FromDays(1));
        var stopGrace = CliOptions.Duration("--stop-timeout", "On SIGTERM, how long a running offline repair may take to finish before its tool is killed and the filesystem mounted again unrepaired (default 60s; keep TimeoutStopSec above it).",
            min: TimeSpan.Zero, max: TimeSpan.FromHours(1));
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
        var mediaEvery = new Option<string?>("--media-scan-interval") { Description = "Read-verify every filesystem's media this often (e.g. 30d, 2w; default off).", HelpName = "DURATION" };
        var mediaLimit = CliOptions.Size("--media-scan-speed-limit", "Media scan bandwidth limit per filesystem, bytes/s (e.g. 50M, the default; 0 = unlimited).");
        cmd.Options.Add(mediaEvery);
        cmd.Options.Add(mediaLimit);
        var mediaLimitOld = CliOptions.HiddenAlias(cmd, CliOptions.Size("--media-scan-limit", ""));
        cmd.SetAction(pr =>
        {
            TimeSpan? mediaInterval = null;
            if (pr.GetValue(mediaEvery) is { } me && !FsHealer.Media.MediaScanSchedule.TryParseInterval(me, out mediaInterval, out var merr))
            {
                Console.Error.WriteLine($"fshealer run: --media-scan-interval: {merr}");
                Console.Error.WriteLine("Try 'fshealer run --help' for more information.");
                return ExitCodes.Usage;
            }
            // under systemd: one journal record per event, and priorities for every other line (JournalConsole)
            using var journal = DaemonHost.JournalConsole();
            IHealerConsole console = (IHealerConsole?)journal ?? new TextWriterConsole(Console.Out, Console.Error);

            // configuration: a broken file at start is an error (say why); on SIGHUP a broken file keeps the old one
            var store = FsHealer.Config.Live.ConfigFile.Store(pr.GetValue(config), out var first);
            if (!first.Ok)
            {
                foreach (var e in first.Errors) console.Err($"fshealer: configuration: {e}");
                console.Err($"fshealer: not starting: the configuration has {first.Errors.Count} error(s) (fshealer config check {pr.GetValue(config) ?? FsHealer.Config.FsHealerConfig.DefaultPath})");
                // EX_CONFIG: fshealer.service has RestartPreventExitStatus=78, so a broken file does not restart-loop
                return ExitCodes.Config;
            }
            var cfg = store.Current;
            var opts = new DaemonOptions
            {
                StateDir = pr.GetValue(stateDir) ?? cfg.StateDir,
                MediaScanInterval = mediaInterval,
                MediaScanBytesPerSecond = (long)Math.Min(CliOptions.Get(pr, mediaLimit, mediaLimitOld) ?? 50UL << 20, long.MaxValue),
                ConfigPath = pr.GetValue(config),
                MountNamespace = pr.GetValue(ns),
                Duration = pr.GetValue(duration),
                Repair = pr.GetValue(repair),
                OfflineRepair = pr.GetValue(offline),
                Ext4Schedule = pr.GetValue(schedule),
                PollInterval = pr.GetValue(interval),
                StopGrace = pr.GetValue(stopGrace) ?? TimeSpan.FromSeconds(60),
            };
            return DaemonHost.Run(opts, store, console, service: true, history: true);
        });
        return cmd;
    }
}

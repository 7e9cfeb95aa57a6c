using System.CommandLine;
using FsHealer.Config;
using FsHealer.Healing.Live;
using FsHealer.Service;

namespace FsHealer.Cli.Commands;

/// <summary>
/// <c>fshealer watch MOUNTPOINT... [options]</c>: the daemon restricted to the filesystems mounted at the given places
/// (the per-mount mode). The same watchers, policy (configuration rules plus these switches), healing pipeline and
/// output as <c>fshealer run</c>; the history too when <c>--state-dir</c> is given. Ends when the filesystems are
/// unmounted, on SIGTERM/SIGINT, or after --duration. The type-named commands (<c>ext4-watch</c>, <c>xfs-poll</c>,
/// <c>btrfs watch</c>) are this with a type check and their own switches.
/// </summary>
public static class WatchCommand
{
    /// <summary>The options every per-mount command shares.</summary>
    public sealed class Common
    {
        public readonly Option<string?> Config = new("--config") { Description = $"Configuration file (default {FsHealerConfig.DefaultPath}); its rules apply here too." };
        public readonly Option<string?> StateDir = new("--state-dir") { Description = $"State directory: the history is recorded there (default: the configuration's, {FsHealerConfig.DefaultStateDir}). Offline repairs run only when their start can be recorded." };
        public readonly Option<TimeSpan?> Duration = CliOptions.Duration("--duration", "Stop after this long (e.g. 90s, 1h).", min: TimeSpan.Zero);
        public readonly Option<bool> Repair = new("--repair") { Description = "XFS: repair online where the kernel can (otherwise the autofsck property decides)." };
        public readonly Option<bool> Offline = new("--offline-repair") { Description = "Allow offline repair (unmount, fsck, remount) of an idle, non-root filesystem that cannot be repaired online." };
        public readonly Option<bool> Schedule = new("--schedule-fsck") { Description = "ext4 with errors: schedule a boot-time check (tune2fs -E force_fsck)." };
        public readonly Option<TimeSpan?> PollInterval = CliOptions.Duration("--poll-interval", "How often to poll health where the kernel sends no events (default 10s; e.g. 30s, 5m).",
            min: TimeSpan.FromMilliseconds(100), max: TimeSpan.FromDays(1));

        public void AddTo(Command c)
        {
            foreach (var o in new Option[] { Config, StateDir, Duration, Repair, Offline, Schedule, PollInterval }) c.Options.Add(o);
        }
    }

    public static Command Create()
    {
        var mounts = new Argument<string[]>("mountpoint") { Description = "Mount points of the filesystems to watch", Arity = ArgumentArity.OneOrMore };
        var common = new Common();
        var cmd = new Command("watch", "Watch the filesystems mounted at MOUNTPOINT... in the foreground: the daemon restricted to them (same watchers, policy, healing and output as `fshealer run`).");
        cmd.Arguments.Add(mounts);
        common.AddTo(cmd);
        cmd.SetAction(pr => Run(pr, common, pr.GetValue(mounts) ?? [], onlyType: null));
        return cmd;
    }

    /// <summary>Run the per-mount daemon from parsed options. <paramref name="adjust"/> sets a command's own switches.</summary>
    public static int Run(ParseResult pr, Common common, IEnumerable<string> mounts, string? onlyType,
        Func<DaemonOptions, DaemonOptions>? adjust = null)
    {
        var console = new TextWriterConsole(Console.Out, Console.Error);
        var store = FsHealer.Config.Live.ConfigFile.Store(pr.GetValue(common.Config), out var first);
        if (!first.Ok)
        {
            foreach (var e in first.Errors) console.Err($"fshealer: configuration: {e}");
            return ExitCodes.Config;
        }
        string? stateDir = pr.GetValue(common.StateDir);
        var opts = new DaemonOptions
        {
            StateDir = stateDir ?? store.Current.StateDir,
            ConfigPath = pr.GetValue(common.Config),
            Duration = pr.GetValue(common.Duration) is { } s && s > TimeSpan.Zero ? s : null,
            Repair = pr.GetValue(common.Repair),
            OfflineRepair = pr.GetValue(common.Offline),
            Ext4Schedule = pr.GetValue(common.Schedule),
            PollInterval = pr.GetValue(common.PollInterval),
            Only = DaemonHost.MountSet(mounts),
            OnlyType = onlyType,
        };
        if (adjust is not null) opts = adjust(opts);
        return DaemonHost.Run(opts, store, console, service: false, history: true);
    }
}

using System.CommandLine;
using FsHealer.Cli.Commands;

namespace FsHealer.Cli;

public static class Cli
{
    public const string Version = "0.1.0";

    /// <summary>Commands that take xfs_healer/xfs_io style arguments and parse them themselves.</summary>
    private static readonly Dictionary<string, Func<IReadOnlyList<string>, int>> RawCommands = new()
    {
        ["xfs-healer"] = a => XfsHealerCommand.Run(a),
        ["replay"] = ReplayCommand.Run,
        ["healthmon"] = HealthmonCommand.Run,
        ["watch"] = WatchCommand.Run,
    };

    public static int Run(string[] args)
    {
        // Installed as (or symlinked to) "xfs_healer": behave exactly like it.
        var argv0 = Path.GetFileName(Environment.GetCommandLineArgs().FirstOrDefault() ?? "");
        if (argv0 == "xfs_healer") return XfsHealerCommand.Run(args);
        if (args.Length > 0 && RawCommands.TryGetValue(args[0], out var raw)) return raw(args[1..]);

        var root = new RootCommand("fshealer — autonomous self-healing for Linux filesystems (XFS, ext4, btrfs).");
        root.Subcommands.Add(XfsHealerCommand.Create());
        root.Subcommands.Add(ReplayCommand.Create());
        root.Subcommands.Add(HealthmonCommand.Create());
        root.Subcommands.Add(WatchCommand.Create());
        foreach (var c in ExtraCommands()) root.Subcommands.Add(c);
        return root.Parse(args).Invoke();
    }

    /// <summary>Commands contributed by the feature areas (mounts, ext4, btrfs, XFS polling, daemon, ...).</summary>
    private static IEnumerable<Command> ExtraCommands()
    {
        yield return RunCommand.Create();
        yield return DemoCommand.Create();
        yield return NotifyCommand.Create();
        yield return VerifyMediaCommand.Create();
        yield return StatusCommand.Create();
        yield return HistoryCommand.Create();
        yield return ConfigCommand.Create();
        yield return MountsCommand.Create();
        yield return XfsPollCommand.Create();
        yield return BtrfsCommand.Create();
        yield return Ext4Command.Create();
    }
}

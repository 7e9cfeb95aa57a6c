using FsHealer.Cli.Commands;
using System.CommandLine;
using FsHealer.Mounts.Live;

namespace FsHealer.Cli;

public static class Cli
{
    public const string Version = FsHealer.Product.Version;

    /// <summary>Commands that take xfs_healer/xfs_io style arguments and parse them themselves.</summary>
    private static readonly Dictionary<string, Func<IReadOnlyList<string>, int>> RawCommands = new()
    {
        ["xfs-healer"] = a => XfsHealerCommand.Run(a),
        ["replay"] = ReplayCommand.Run,
        ["healthmon"] = HealthmonCommand.Run,
    };

    public static int Run(string[] args)
    {
        // Installed as (or symlinked to) "xfs_healer": behave exactly like it.
        var argv0 = Path.GetFileName(Environment.GetCommandLineArgs().FirstOrDefault() ?? "");
        if (argv0 == "xfs_healer") return XfsHealerCommand.Run(args);
        if (args.Length > 0 && RawCommands.TryGetValue(args[0], out var raw)) return raw(args[1..]);

        // Build only the command being run (its whole tree when the name is unknown or for --help): the daemon's start-up
        // then touches the code of one command, not of all of them (resident memory of a process that runs for years).
        var root = new RootCommand("fshealer — autonomous self-healing for Linux filesystems (XFS, ext4, btrfs).");
        int only = args.Length > 0 ? Array.FindIndex(Commands, c => c.Name == args[0]) : -1;
        if (only >= 0) root.Subcommands.Add(Commands[only].Create());
        else foreach (var (_, create) in Commands) root.Subcommands.Add(create());
        return root.Parse(args).Invoke();
    }

    /// <summary>Every subcommand, by name, in help order.</summary>
    public static readonly (string Name, Func<Command> Create)[] Commands =
    [
        ("xfs-healer", XfsHealerCommand.Create),
        ("replay", ReplayCommand.Create),
        ("healthmon", HealthmonCommand.Create),
        ("watch", WatchCommand.Create),
        ("run", RunCommand.Create),
        ("demo", DemoCommand.Create),
        ("notify", NotifyCommand.Create),
        ("verify-media", VerifyMediaCommand.Create),
        ("status", StatusCommand.Create),
        ("history", HistoryCommand.Create),
        ("config", ConfigCommand.Create),
        ("mounts", MountsCommand.Create),
        ("xfs-poll", XfsPollCommand.Create),
        ("btrfs", BtrfsCommand.Create),
        ("ext4-watch", Ext4Command.Create),
        ("devices", DevicesCommand.Create),
    ];
}

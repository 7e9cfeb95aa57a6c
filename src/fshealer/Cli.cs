using FsHealer.Cli.Commands;
using System.CommandLine;
using FsHealer.Interop;
using FsHealer.Mounts.Live;
using FsHealer.Text;

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

    /// <summary>Commands that run until stopped: a failing standard output must not stop them (see <see cref="StdoutGuard"/>).</summary>
    private static readonly HashSet<string> LongRunning = ["run", "watch", "xfs-healer", "xfs-poll", "ext4-watch", "btrfs", "healthmon", "verify-media", "demo"];

    public static int Run(string[] args)
    {
        // mount points are bytes: an argument that is not UTF-8 gets its bytes back (CommandLineBytes)
        args = RestoreArgumentBytes(args);
        // Installed as (or symlinked to) "xfs_healer": behave exactly like it.
        var argv0 = Path.GetFileName(Environment.GetCommandLineArgs().FirstOrDefault() ?? "");
        bool xfsHealer = argv0 == "xfs_healer" || (args.Length > 0 && args[0] == "xfs-healer");
        // a closed standard stream would be handed to the next file opened (the history database): /dev/null first
        var closed = FsHealer.Interop.StdFds.FillClosed();
        string cmd = args.Length > 0 ? args[0] : "";
        if (closed[1])
        {
            // never write into whatever now has number 1 (a file of ours, a pipe of the runtime's)
            Console.SetOut(TextWriter.Null);
            if (xfsHealer) { }
            else if (LongRunning.Contains(cmd))
            {
                // a daemon or watcher keeps watching and healing: its output is lost, its work is not (history, journal)
                if (!closed[2]) Console.Error.WriteLine("fshealer: standard output is closed; its lines are dropped (the history and the journal still get every event)");
            }
            else
            {
                if (!closed[2]) Console.Error.WriteLine("fshealer: standard output is closed; nothing could be printed (redirect it to /dev/null to discard the output)");
                return ExitCodes.IoError;
            }
        }
        if (closed[2]) Console.SetError(TextWriter.Null);
        var guard = new StdoutGuard(Console.Out, Console.Error, lenient: xfsHealer || LongRunning.Contains(cmd));
        var oldOut = Console.Out;
        Console.SetOut(guard);
        try
        {
            return Dispatch(args, argv0 == "xfs_healer");
        }
        catch (StdoutException e)
        {
            try { Console.Error.WriteLine($"fshealer: cannot write to standard output: {e.Reason}"); } catch (IOException) { }
            return ExitCodes.IoError;
        }
        finally
        {
            try { guard.Flush(); } catch (StdoutException) { }
            Console.SetOut(oldOut);
        }
    }

    internal static int Dispatch(string[] args, bool asXfsHealer = false)
    {
        if (asXfsHealer) return XfsHealerCommand.Run(args);
        if (args.Length > 0 && RawCommands.TryGetValue(args[0], out var raw)) return raw(args[1..]);

        // Build only the command being run (its whole tree when the name is unknown or for --help): the daemon's start-up
        // then touches the code of one command, not of all of them (resident memory of a process that runs for years).
        var root = new RootCommand("fshealer — autonomous self-healing for Linux filesystems (XFS, ext4, btrfs).");
        int only = args.Length > 0 ? Array.FindIndex(Commands, c => c.Name == args[0]) : -1;
        if (only >= 0) root.Subcommands.Add(Commands[only].Create());
        else foreach (var (_, create) in Commands) root.Subcommands.Add(create());
        var pr = root.Parse(args);
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        if (pr.Errors.Count > 0 && pr.Action is System.CommandLine.Invocation.ParseErrorAction)
        {
            // a usage error: what is wrong and where to read more, on stderr; exit 64 (EX_USAGE) — never the codes
            // status uses for degraded/error
            foreach (var e in pr.Errors) Console.Error.WriteLine($"fshealer: {e.Message}");
            var path = new List<string>();
            for (var c = pr.CommandResult; c is not null; c = c.Parent as System.CommandLine.Parsing.CommandResult)
                if (c.Command is not RootCommand) path.Insert(0, c.Command.Name);
            Console.Error.WriteLine($"Try 'fshealer {string.Join(' ', path)}{(path.Count > 0 ? " " : "")}--help' for more information.");
            return ExitCodes.Usage;
        }
        // a command group without a subcommand ("fshealer config"): its help, as a usage error
        if (pr.Action is null && pr.CommandResult.Command is { } group && group.Subcommands.Count > 0)
        {
            Console.Error.WriteLine($"fshealer {group.Name}: a subcommand is required ({string.Join(", ", group.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))})");
            Console.Error.WriteLine($"Try 'fshealer {group.Name} --help' for more information.");
            return ExitCodes.Usage;
        }
        try
        {
            return pr.Invoke(config);
        }
        catch (StdoutException) { throw; }
        catch (OperationCanceledException) { return 130; }
        catch (Exception e)
        {
            Console.Error.WriteLine($"fshealer: internal error (please report): {e}");
            return ExitCodes.Software;
        }
    }

    /// <summary>The arguments with bytes that are not UTF-8 restored from /proc/self/cmdline (unchanged when none is,
    /// or when /proc cannot be read).</summary>
    public static string[] RestoreArgumentBytes(string[] args)
    {
        if (Array.FindIndex(args, a => a.Contains('\uFFFD')) < 0) return args;
        var cmdline = Libc.ReadAllBytes("/proc/self/cmdline", out _);
        return cmdline is null ? args : CommandLineBytes.Restore(args, cmdline);
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

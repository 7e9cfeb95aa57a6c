using System.CommandLine;
using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Interop;
using FsHealer.Xfs.Live;

namespace FsHealer.Cli.Commands;

/// <summary>
/// `fshealer xfs-healer [xfs_healer options] MOUNTPOINT` — a drop-in for xfsprogs' xfs_healer: same options
/// (getopt_long semantics), same log lines on the same streams, same exit codes. Also used when the binary is
/// invoked as "xfs_healer" (symlink), and by `fshealer replay` on the simulated kernel.
/// </summary>
public static class XfsHealerCommand
{
    public static Command Create()
    {
        var cmd = new Command("xfs-healer", "Run as xfsprogs' xfs_healer (same options, log lines and exit codes): monitor one XFS mount through the Linux 7.0 health monitor and repair what it reports.");
        cmd.TreatUnmatchedTokensAsErrors = false;
        return cmd;
    }

    public static int Run(IReadOnlyList<string> args, string progname = "xfs_healer") =>
        XfsHealerProgram.Run(args, progname);
}

/// <summary>
/// `fshealer replay FILE --mount PATH [xfs_healer options] [--outcome STRUCT=RESULT]... [--default-outcome R]
/// [--autofsck VALUE] [--no-rmapbt] [--no-parent] [--no-repair-support]` — feeds a recorded stream of 64-byte
/// health records through the same pipeline as the live monitor, with repairs answered by a simulated scrub
/// backend. Output is what live mode would print: the policy dry-run for administrators.
/// </summary>
public static class ReplayCommand
{
    public static Command Create()
    {
        var cmd = new Command("replay", "Replay a recorded health-monitor stream (64-byte records) through the xfs_healer pipeline with a simulated scrub backend: what would fshealer do?");
        cmd.TreatUnmatchedTokensAsErrors = false;
        return cmd;
    }

    public const string Usage = "Usage: fshealer replay FILE --mount PATH [xfs_healer options] [--outcome STRUCT=success|unnecessary|xfail|fail|errno:N]... [--default-outcome R] [--autofsck none|check|optimize|repair] [--no-rmapbt] [--no-parent] [--no-repair-support]";

    public static int Run(IReadOnlyList<string> args)
    {
        var console = FsHealer.Service.Live.FdConsole.Create();
        try
        {
            return Replay(args, console);
        }
        finally
        {
            console.Flush();
        }
    }

    private static int Replay(IReadOnlyList<string> args, IHealerConsole console)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.Out.WriteLine(Usage);
            Console.Out.WriteLine("""

                Feed a recorded health monitor stream (as fshealer healthmon writes it) through the xfs_healer pipeline with a
                simulated scrub backend and print what live mode would print: the policy dry-run.
                  --mount PATH            the mount point the records belong to
                  xfs_healer options      --repair, --no-autofsck, --everything, --quiet, --debug, ...
                  --outcome S=R           the simulated result of repairing structure S (success, unnecessary, xfail,
                                          fail, errno:N); repeatable
                  --default-outcome R     the result of every other repair (default success)
                  --autofsck V            the simulated autofsck property (none, check, optimize, repair)
                  --no-rmapbt, --no-parent, --no-repair-support   simulate a filesystem without these features
                Exit status: xfs_healer's (0 done, 1 error); 64 on a usage error.
                """);
            return 0;
        }
        // First positional = the record file; the mount point comes from --mount.
        if (!XfsHealerArgs.TryParse(args, "fshealer replay", true, out var probe, out var err))
        {
            console.Err(err!);
            console.Err(Usage);
            return ExitCodes.Usage;
        }
        if (probe.Positionals.Count != 1 || probe.ReplayMount is null)
        {
            console.Err(Usage);
            return ExitCodes.Usage;
        }
        var file = probe.Positionals[0];
        // Re-run as xfs_healer with the mount point as the positional argument.
        var healerArgs = args.Where(a => a != file).ToList();
        healerArgs.Add(probe.ReplayMount);
        var session = new XfsHealerSession(console, "fshealer replay", Cli.Version);
        SafeFd? fd = null;
        try
        {
            return session.Run(healerArgs, o => new SimulatedXfsPlatform(o, () =>
            {
                fd = Libc.Open(file, Libc.O_RDONLY, out int e);
                if (fd.IsInvalid) throw new IOException($"{file}: {FsHealer.Text.Errno.Message(e)}");
                return new FdRecordSource(fd);
            }, new PrintingUnitManager(console)) { RecordCalls = false }, allowReplayOptions: true, serviceMode: () => false);
        }
        catch (IOException ex)
        {
            console.Err(ex.Message);
            return 1;
        }
        finally
        {
            fd?.Dispose();
        }
    }

    /// <summary>Replay never runs systemctl; it says what it would have started.</summary>
    private sealed class PrintingUnitManager(IHealerConsole console) : IUnitManager
    {
        public bool StartNoBlock(string unit)
        {
            console.Err($"(replay) would run: systemctl start --no-block {unit}");
            return true;
        }
    }
}

using FsHealer.Service;
using FsHealer.Service.Live;

namespace FsHealer.Xfs.Live;

/// <summary>
/// The xfs_healer drop-in as a program: `fshealer xfs-healer ARGS` and the per-mount executable `fshealer-xfs-healer
/// ARGS` (src/fshealer-xfs-healer: the same code in a 2.5 MB binary, for a process that lives as long as its
/// filesystem is mounted) both run this. Same options, output and exit codes as xfsprogs' xfs_healer.
/// </summary>
public static class XfsHealerProgram
{
    /// <param name="releasePages">Once settled (2 s) and every 10 minutes, collect garbage and give back the clean
    /// start-up pages of the program's file mappings (<see cref="ResidentSet"/>): worth it for the 14 MB fshealer
    /// binary, whose start-up touches code the healer never runs again; the dedicated binary leaves it off (reading
    /// and parsing smaps would raise its peak by more than it saves).</param>
    public static int Run(IReadOnlyList<string> args, string progname = "xfs_healer", bool releasePages = true)
    {
        // stdout through one buffer (a write per batch of lines, not per line), stderr line by line
        var console = FdConsole.Create();
        try
        {
            if (args.Contains("--repair") && !args.Contains("--svcname") && !Interop.Capabilities.RequireForRepair(out var why, progname))
            {
                console.Err(why);
                return 1;
            }
            // started as ".../xfs_healer" (installed in xfs_healer's place): getopt's messages name argv[0] as glibc does
            var argv0 = Environment.GetCommandLineArgs() is [var a0, ..] && Path.GetFileName(a0) == progname ? a0 : progname;
            var session = new XfsHealerSession(console, progname, Product.Version)
            {
                Argv0 = argv0,
                ServiceMode = () => Environment.GetEnvironmentVariable("SERVICE_MODE") is not null,
                ProcessorCount = Environment.ProcessorCount,
            };
            using var settle = releasePages
                ? new Timer(_ =>
                {
                    GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    ResidentSet.ReleaseCleanFilePages();
                }, null, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(10))
                : null;
            return session.Run(args, _ => new LiveXfsPlatform());
        }
        finally
        {
            console.Flush();
        }
    }
}

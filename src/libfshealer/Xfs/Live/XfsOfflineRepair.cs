using System.Diagnostics;
using System.Runtime.InteropServices;
using FsHealer.Mounts;
using FsHealer.Text;
using FsHealer.Mounts.Live;

namespace FsHealer.Xfs.Live;

/// <summary>One recorded step of the offline repair ladder.</summary>
public sealed record OfflineRepairStep(string Name, string Command, int ExitCode, string Output, TimeSpan Elapsed)
{
    public bool Ok => ExitCode == 0;
    public override string ToString() => $"{Name}: `{Command}` → rc {ExitCode} ({Elapsed.TotalMilliseconds:F0} ms){(Output.Length > 0 ? ": " + Output.Trim().Split('\n')[^1] : "")}";
}

public enum OfflineRepairOutcome
{
    /// <summary>Repaired, verified clean by xfs_repair -n, remounted.</summary>
    Repaired,
    /// <summary>Not attempted: the fs is busy, the root fs, not XFS, or not mounted. Nothing was changed.</summary>
    Refused,
    /// <summary>Repair or verification failed; the fs was remounted if possible (see steps).</summary>
    Failed,
    /// <summary>Repaired but the remount failed: the fs is left unmounted.</summary>
    RepairedNotRemounted,
}

public sealed class OfflineRepairReport
{
    public OfflineRepairOutcome Outcome { get; set; }
    public string Summary { get; set; } = "";
    public List<OfflineRepairStep> Steps { get; } = new();
}

/// <summary>
/// The offline repair ladder for an idle, non-root XFS: unmount (never lazy — EBUSY means refuse), xfs_repair
/// (a dirty log is replayed by a mount/unmount first; xfs_repair -L is never used), verify with xfs_repair -n while
/// still unmounted (it refuses mounted filesystems), remount at the same place with the same options.
/// Every step is recorded.
/// </summary>
public static class XfsOfflineRepair
{
    private const int EBUSY = 16;


    /// <summary>Runs a tool: (exit code, combined output). Replaceable for tests.</summary>
    public static Func<string, string[], (int Rc, string Output)> Runner { get; set; } = RunProcess;

    /// <summary>Super-block options mountinfo shows that must not be passed back to mount.</summary>
    private static readonly string[] DroppedSuperOptions = ["rw", "ro", "attr2", "noattr2"];

    public static OfflineRepairReport Repair(string mountPoint)
    {
        var report = new OfflineRepairReport();
        mountPoint = Path.GetFullPath(mountPoint);
        if (mountPoint.Length > 1) mountPoint = mountPoint.TrimEnd('/');
        var mounts = MountTable.ReadMountInfo(out string? error);
        if (mounts is null) return Refuse(report, $"{mountPoint}: {error}");
        var entry = MountInfoParser.FindTopmost(mounts, mountPoint);
        if (entry is null) return Refuse(report, $"{mountPoint}: not a mount point");
        if (entry.FullFsType != "xfs") return Refuse(report, $"{mountPoint}: is {entry.FullFsType}, not xfs");
        var root = MountInfoParser.FindTopmost(mounts, "/");
        if (mountPoint == "/" || (root is not null && root.Source == entry.Source))
            return Refuse(report, $"{mountPoint}: {entry.Source} holds the root filesystem; offline repair needs a rescue boot");
        if (mounts.Count(m => m.Source == entry.Source) > 1)
            return Refuse(report, $"{mountPoint}: {entry.Source} is mounted more than once (bind mounts?); unmounting one place would not free it");

        string options = MountOptions(entry);
        var sw = Stopwatch.StartNew();
        int errno = FsHealer.Interop.Umount.Unmount(mountPoint);
        report.Steps.Add(new("unmount", $"umount2({mountPoint}, 0)", errno, errno == 0 ? "" : $"{Errno.Name(errno)}: {Errno.Message(errno)}", sw.Elapsed));
        if (errno == EBUSY)
            return Refuse(report, $"{mountPoint}: busy (EBUSY): files or directories on it are in use. A lazy unmount would leave it mounted behind the users' backs, so nothing was done; stop the users (fuser -vm {mountPoint}) and retry.");
        if (errno != 0)
            return Refuse(report, $"{mountPoint}: umount2: {Errno.Name(errno)} ({Errno.Message(errno)}); nothing was done");

        var repair = Step(report, "repair", "xfs_repair", entry.Source);
        if (repair.ExitCode == 2)
        {
            // dirty log: replay it by mounting and unmounting, never zero it (-L) automatically
            var tmp = Directory.CreateTempSubdirectory("fshealer-logreplay-").FullName;
            try
            {
                var m = Step(report, "replay log (mount)", "mount", "-t", "xfs", entry.Source, tmp);
                if (m.Ok) Step(report, "replay log (umount)", "umount", tmp);
            }
            finally { try { Directory.Delete(tmp); } catch (IOException) { } }
            repair = Step(report, "repair (after log replay)", "xfs_repair", entry.Source);
        }
        var verify = repair.Ok ? Step(report, "verify", "xfs_repair", "-n", entry.Source) : null;
        var remount = Step(report, "remount", "mount", "-t", "xfs", "-o", options, entry.Source, mountPoint);

        if (!repair.Ok)
        {
            report.Outcome = OfflineRepairOutcome.Failed;
            report.Summary = $"{mountPoint}: xfs_repair {entry.Source} failed (rc {repair.ExitCode}); " + (remount.Ok ? "remounted unchanged" : "left unmounted (remount failed)");
        }
        else if (verify is { Ok: false })
        {
            report.Outcome = OfflineRepairOutcome.Failed;
            report.Summary = $"{mountPoint}: xfs_repair ran but xfs_repair -n still finds problems (rc {verify.ExitCode}); " + (remount.Ok ? "remounted" : "left unmounted");
        }
        else if (!remount.Ok)
        {
            report.Outcome = OfflineRepairOutcome.RepairedNotRemounted;
            report.Summary = $"{mountPoint}: repaired and verified clean, but remount with '{options}' failed: {remount.Output.Trim()}";
        }
        else
        {
            report.Outcome = OfflineRepairOutcome.Repaired;
            report.Summary = $"{mountPoint}: repaired {entry.Source}, verified clean with xfs_repair -n, remounted with '{options}'";
        }
        return report;
    }

    /// <summary>Per-mount flags plus the filesystem's own options, without the ones mount would reject.</summary>
    public static string MountOptions(MountEntry e)
    {
        var opts = new List<string>();
        foreach (var o in e.MountOptions.Split(',', StringSplitOptions.RemoveEmptyEntries)) if (!opts.Contains(o)) opts.Add(o);
        foreach (var o in e.SuperOptions.Split(',', StringSplitOptions.RemoveEmptyEntries))
            if (!DroppedSuperOptions.Contains(o) && !opts.Contains(o)) opts.Add(o);
        return string.Join(',', opts);
    }

    private static OfflineRepairReport Refuse(OfflineRepairReport r, string why)
    {
        r.Outcome = OfflineRepairOutcome.Refused;
        r.Summary = why;
        return r;
    }

    private static OfflineRepairStep Step(OfflineRepairReport report, string name, string tool, params string[] args)
    {
        var sw = Stopwatch.StartNew();
        var (rc, output) = Runner(tool, args);
        var s = new OfflineRepairStep(name, tool + " " + string.Join(' ', args), rc, output, sw.Elapsed);
        report.Steps.Add(s);
        return s;
    }

    /// <summary>The same runner the ext4 executor uses (C locale, output captured); xfs_repair of a large filesystem
    /// can take hours, so the timeout is generous. "Could not run" is reported as 127, like a shell.</summary>
    private static (int, string) RunProcess(string tool, string[] args)
    {
        var (exit, output) = new FsHealer.Healing.Live.ProcessCommandRunner().Run(tool, args, TimeSpan.FromHours(12));
        return (exit < 0 ? 127 : exit, output);
    }
}

using FsHealer.Kernel.Tests.Infra;
using FsHealer.Xfs.Live;

namespace FsHealer.Kernel.Tests.Reliability;

/// <summary>
/// XFS offline repair with faults injected into its tool runner (xfs_repair failing, mount failing) and a busy mount:
/// each ends with a summary naming the mount point and device, and the filesystem is left mounted (or the failure to
/// remount is said plainly).
/// </summary>
public sealed class OfflineRepairFaultTests : IDisposable
{
    private readonly Func<string, string[], (int, string)> _saved = XfsOfflineRepair.Runner;
    public void Dispose() => XfsOfflineRepair.Runner = _saved;

    private static (int, string) Real(string prog, string[] args)
    {
        var r = Sh.Run(prog, args);
        return (r.Code, r.Out + r.Err);
    }

    private static bool IsMounted(string mnt) =>
        File.ReadAllLines("/proc/self/mountinfo").Any(l => l.Split(' ')[4] == mnt);

    [Fact]
    public void Xfs_repair_nonzero_exit_remounts_unchanged_and_says_so()
    {
        Sh.RequireTools("mkfs.xfs", "xfs_repair");
        using var fs = ScratchFs.Create("xfs", tag: "offl");
        var calls = new List<string>();
        XfsOfflineRepair.Runner = (prog, args) =>
        {
            calls.Add(prog + " " + string.Join(' ', args));
            return prog == "xfs_repair" ? (4, "fatal error -- injected") : Real(prog, args);
        };
        var report = XfsOfflineRepair.Repair(fs.Mnt);
        TestContext.Current.TestOutputHelper?.WriteLine(report.Summary);
        Assert.Equal(OfflineRepairOutcome.Failed, report.Outcome);
        Assert.Contains($"{fs.Mnt}: xfs_repair {fs.Loop} failed (rc 4); remounted unchanged", report.Summary);
        Assert.True(IsMounted(fs.Mnt), "left mounted as before");
        Assert.DoesNotContain(calls, c => c.StartsWith("xfs_repair -n")); // no verify of a failed repair
    }

    [Fact]
    public void Remount_failure_is_reported_as_left_unmounted()
    {
        Sh.RequireTools("mkfs.xfs", "xfs_repair");
        using var fs = ScratchFs.Create("xfs", tag: "offl");
        XfsOfflineRepair.Runner = (prog, args) => prog == "mount" ? (32, "mount: injected failure") : Real(prog, args);
        var report = XfsOfflineRepair.Repair(fs.Mnt);
        TestContext.Current.TestOutputHelper?.WriteLine(report.Summary);
        Assert.Equal(OfflineRepairOutcome.RepairedNotRemounted, report.Outcome);
        Assert.Contains(fs.Mnt, report.Summary);
        Assert.Contains("remount", report.Summary);
        Assert.Contains("injected failure", report.Summary);
        Assert.False(IsMounted(fs.Mnt)); // the truth: it is not mounted, and the summary says so
    }

    [Fact]
    public void Busy_mount_is_never_lazily_unmounted()
    {
        Sh.RequireTools("mkfs.xfs", "xfs_repair");
        using var fs = ScratchFs.Create("xfs", tag: "offl");
        var calls = new List<string>();
        XfsOfflineRepair.Runner = (prog, args) => { calls.Add(prog); return Real(prog, args); };
        using (File.Open(Path.Combine(fs.Mnt, "held"), FileMode.Create))
        {
            var report = XfsOfflineRepair.Repair(fs.Mnt);
            TestContext.Current.TestOutputHelper?.WriteLine(report.Summary);
            Assert.Equal(OfflineRepairOutcome.Refused, report.Outcome);
            Assert.Contains("busy (EBUSY)", report.Summary);
            Assert.Contains(fs.Mnt, report.Summary);
            Assert.Empty(calls); // no xfs_repair, no mount
            Assert.True(IsMounted(fs.Mnt));
        }
    }

    [Fact]
    public void Vanished_mount_is_refused_with_its_name()
    {
        Sh.RequireRoot();
        string gone = Path.Combine(Path.GetTempPath(), "fshealer-gone-" + Guid.NewGuid().ToString("N"));
        var report = XfsOfflineRepair.Repair(gone);
        Assert.Equal(OfflineRepairOutcome.Refused, report.Outcome);
        Assert.Contains($"{gone}: not a mount point", report.Summary);
        Assert.Empty(report.Steps);
    }
}

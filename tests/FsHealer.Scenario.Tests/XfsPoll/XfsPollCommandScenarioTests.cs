using FsHealer.Cli.Commands;
using FsHealer.Mounts.Live;

namespace FsHealer.Scenario.Tests.XfsPoll;

/// <summary>The xfs-poll command's argument and non-XFS handling (no root, no XFS needed).</summary>
public class XfsPollCommandScenarioTests
{
    private static (int Rc, string Out, string Err) Run(string mnt, double interval = 1, bool once = true, int budget = 0)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int rc = XfsPollCommand.Run(mnt, interval, once, budget, o, e, TestContext.Current.CancellationToken);
        return (rc, o.ToString(), e.ToString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    [InlineData(1e9)]
    public void BadInterval_IsRejected(double interval)
    {
        var r = Run("/tmp", interval);
        Assert.Equal(64, r.Rc);
        Assert.Contains("--poll-interval", r.Err);
    }

    [Fact]
    public void NegativeBudget_IsRejected() => Assert.Equal(64, Run("/tmp", budget: -5).Rc);

    [Fact]
    public void MissingMountPoint_NamesThePathAndErrno()
    {
        var r = Run("/nonexistent/fshealer-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(1, r.Rc);
        Assert.Contains("ENOENT", r.Err);
        Assert.Contains("/nonexistent/fshealer-", r.Err);
        Assert.Empty(r.Out);
    }

    [Fact]
    public void NonXfsDirectory_IsReportedAsNotXfs_WithoutTheScrubNote()
    {
        var dir = Directory.CreateTempSubdirectory("fshealer-xfspoll-scn-").FullName;
        try
        {
            var r = Run(dir);
            if (r.Rc == 0) Assert.Skip("/tmp is XFS on this machine");
            Assert.Equal(1, r.Rc);
            Assert.Contains("XFS_IOC_FSGEOMETRY", r.Err);
            Assert.Contains("not an XFS filesystem", r.Err);
            Assert.DoesNotContain("SCRUB", r.Err);
            Assert.Empty(r.Out);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Create_BuildsTheCommandWithItsOptions()
    {
        var cmd = XfsPollCommand.Create();
        Assert.Equal("xfs-poll", cmd.Name);
        Assert.Equal(["--poll-interval", "--once", "--inode-budget"], cmd.Options.Where(o => !o.Hidden).Select(o => o.Name));
        Assert.Contains(cmd.Options, o => o.Name == "--interval" && o.Hidden);   // the old spelling still parses
        Assert.Single(cmd.Arguments);
    }
}

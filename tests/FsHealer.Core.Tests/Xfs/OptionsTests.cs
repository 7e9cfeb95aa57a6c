using FsHealer.Xfs;

namespace FsHealer.Core.Tests.Xfs;

public class OptionsTests
{
    private static XfsHealerOptions P(params string[] a)
    {
        Assert.True(XfsHealerArgs.TryParse(a, "xfs_healer", false, out var o, out var err), err);
        return o;
    }

    private static string Fail(params string[] a)
    {
        Assert.False(XfsHealerArgs.TryParse(a, "xfs_healer", false, out _, out var err));
        return err!;
    }

    [Fact]
    public void Defaults_LogOnAutofsckOn()
    {
        var o = P("/mnt");
        Assert.True(o.Log);
        Assert.True(o.Autofsck);
        Assert.False(o.Repair);
        Assert.Equal("/mnt", o.Mountpoint);
    }

    [Fact]
    public void Permutation_OptionsAfterMountpoint() // fstests call: xfs_healer --supported MNT --repair
    {
        var o = P("--supported", "/mnt", "--repair");
        Assert.True(o.Supported);
        Assert.True(o.Repair);
        Assert.False(o.Autofsck); // --repair implies no autofsck
        Assert.Equal("/mnt", o.Mountpoint);
    }

    [Fact]
    public void UniquePrefixes_AreAccepted()
    {
        var o = P("--ev", "--fore", "--q", "--no", "/m");
        Assert.True(o.Everything && o.Foreground && o.Quiet && !o.Autofsck);
    }

    [Fact]
    public void DoubleDash_EndsOptions()
    {
        var o = P("--", "--repair");
        Assert.False(o.Repair);
        Assert.Equal("--repair", o.Mountpoint);
    }

    [Fact]
    public void Errors_AreGlibcTexts()
    {
        Assert.Equal("xfs_healer: unrecognized option '--bogus'", Fail("--bogus", "/m"));
        Assert.Equal("xfs_healer: option '--s' is ambiguous; possibilities: '--supported' '--svcname'", Fail("--s", "/m"));
        Assert.Equal("xfs_healer: option '--debug' doesn't allow an argument", Fail("--debug=1", "/m"));
        Assert.Equal("xfs_healer: invalid option -- 'x'", Fail("-x", "/m"));
        Assert.Equal("xfs_healer: option '--full-check-interval' requires an argument", Fail("/m", "--full-check-interval"));
    }

    [Fact]
    public void ShortV_AndClusters()
    {
        Assert.True(P("-V").Version);
        Assert.True(P("-VV").Version);
    }

    [Fact]
    public void ReplayOnlyOptions_AreRejectedInHealerMode()
    {
        Assert.Equal("xfs_healer: unrecognized option '--outcome=directory=fail'", Fail("--outcome=directory=fail", "/m"));
        Assert.True(XfsHealerArgs.TryParse(["--outcome", "directory=fail", "--default-outcome=xfail", "f"], "replay", true, out var o, out _));
        Assert.Equal("fail", o.Outcomes["directory"]);
        Assert.Equal("xfail", o.DefaultOutcome);
        Assert.False(XfsHealerArgs.TryParse(["--outcome", "directory=maybe", "f"], "replay", true, out _, out var err));
        Assert.Contains("invalid outcome 'maybe'", err);
    }

    [Fact]
    public void FullCheckInterval_Parsed_And_Validated()
    {
        Assert.Equal(0.5, P("--full-check-interval=0.5", "/m").FullCheckIntervalSeconds);
        Assert.Equal(300, P("--full-check-interval=5m", "/m").FullCheckIntervalSeconds);   // durations too (issue 16)
        Assert.Contains("invalid --full-check-interval", Fail("--full-check-interval", "-3", "/m"));
        Assert.Contains("invalid --full-check-interval", Fail("--full-check-interval", "soon", "/m"));
    }

    [Fact]
    public void Usage_MatchesXfsHealer()
    {
        var u = XfsHealerArgs.Usage("xfs_healer");
        Assert.StartsWith("Usage: xfs_healer [OPTIONS] mountpoint\n\nOptions:\n  --debug       Enable debugging messages.\n", u);
        Assert.EndsWith("  -V            Print version.\n", u);
    }
}

using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Demo;

/// <summary>The README's first command runs in CI and asserts its own outcome (exit 0 only if XFS, ext4 and
/// btrfs were all detected, healed and verified).</summary>
public class DemoTests
{
    [Fact]
    public void Demo_HealsXfsExt4AndBtrfs()
    {
        Sh.RequireRoot();
        Sh.RequireTools("mkfs.xfs", "mkfs.btrfs", "debugfs", "xfs_db", "btrfs-map-logical", "filefrag", "unshare");
        var repo = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
        // the suite built the solution already (the demo's own build would only repeat it); 6 minutes for a loaded machine
        var r = Sh.RunWith(repo, new Dictionary<string, string> { ["FSHEALER_DEMO_NO_BUILD"] = "1" }, TimeSpan.FromMinutes(6),
            "bash", Path.Combine(repo, "scripts/demo.sh"));
        TestContext.Current.TestOutputHelper?.WriteLine(r.Out + r.Err);
        Assert.True(r.Code == 0, $"demo failed (rc {r.Code}):\n{r.Out}\n{r.Err}");
        Assert.Contains("0 failed", r.Out);
        // XFS and ext4 both healed by the one offline ladder
        Assert.Matches(@"xfs/mnt: heal OfflineRepair: repaired, verified clean, mounted again", r.Out);
        Assert.Matches(@"ext4/mnt: heal OfflineRepair: repaired, verified clean, mounted again", r.Out);
        // status of the repaired ext4 shows the policy the daemon applied (run --offline-repair), not the config file's
        Assert.Contains("policy: ext4: offline repair (unmount, e2fsck, remount) (rule (defaults)) — applied by the daemon since", r.Out);
        Assert.Matches(@"finished: .* [1-9]\d* corrected, 0 uncorrectable", r.Out);
    }
}

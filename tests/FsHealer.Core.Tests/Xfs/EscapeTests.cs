using FsHealer.Text;

namespace FsHealer.Core.Tests.Xfs;

public class EscapeTests
{
    [Theory]
    [InlineData("/", "xfs_healer@-.service")]
    [InlineData("/home", "xfs_healer@home.service")]
    [InlineData("/mnt/scratch", "xfs_healer@mnt-scratch.service")]
    [InlineData("/mnt/a-b", "xfs_healer@mnt-a\\x2db.service")]
    [InlineData("/mnt//x/", "xfs_healer@mnt-x.service")]
    [InlineData("/mnt/.hidden", "xfs_healer@mnt-.hidden.service")]
    [InlineData("/.dot", "xfs_healer@\\x2edot.service")]
    [InlineData("/mnt/my disk", "xfs_healer@mnt-my\\x20disk.service")]
    public void InstanceNames(string path, string expected) =>
        Assert.Equal(expected, SystemdEscape.InstanceName("xfs_healer@.service", path));

    /// <summary>systemd-escape --path (systemd 252) as xfs_healer --svcname shows it: stdout, and its stderr.</summary>
    [Theory]
    [InlineData("/mnt/a", "mnt-a", null, null)]
    [InlineData("/a/./b", "a-b", null, null)]
    [InlineData("a/b", "a-b", "Input 'a/b' is not an absolute file system path, escaping is likely not going to be reversible.", null)]
    [InlineData("", "-", "Input '' is not a valid file system path, escaping is likely not going be reversible.", null)]
    [InlineData(".", null, null, "Input '.' is not an absolute file system path, failed to escape.")]
    [InlineData("./x/../y", null, null, "Input './x/../y' is not an absolute file system path, failed to escape.")]
    [InlineData("/a/../b", null, null, "Input '/a/../b' is not a normalized file system path, failed to escape.")]
    public void EscapePathAsTool_LikeSystemdEscape(string path, string? escaped, string? warning, string? error)
    {
        Assert.Equal(escaped, SystemdEscape.EscapePathAsTool(path, out var w, out var e));
        Assert.Equal(warning, w);
        Assert.Equal(error, e);
    }
}

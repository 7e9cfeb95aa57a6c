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
}

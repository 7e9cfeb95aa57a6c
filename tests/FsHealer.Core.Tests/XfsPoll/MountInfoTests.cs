using FsHealer.Core.XfsPoll;

namespace FsHealer.Core.Tests.XfsPoll;

public class MountInfoTests
{
    private const string Sample =
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n" +
        "96 22 7:3 / /tmp/x\\040y/mnt rw,relatime shared:50 - xfs /dev/loop3 rw,attr2,inode64,logbufs=8,noquota\n" +
        "97 22 7:4 / /tmp/x\\040y/mnt rw,relatime - xfs /dev/loop4 rw,noquota\n" +
        "garbage line\n\n";

    [Fact]
    public void Parses_Unescapes_AndFindsTopmostMount()
    {
        var all = MountInfo.Parse(Sample);
        Assert.Equal(3, all.Count);
        var e = MountInfo.Find(all, "/tmp/x y/mnt/");
        Assert.NotNull(e);
        Assert.Equal(("xfs", "/dev/loop4", "rw,noquota", 97), (e.FsType, e.Source, e.SuperOptions, e.MountId));
        Assert.Equal("loop4", MountInfo.KernelDeviceName(e.Source));
        Assert.Null(MountInfo.Find(all, "/nope"));
        Assert.Equal("a\\b c", MountInfo.Unescape("a\\134b\\040c"));
        Assert.Equal("bad\\9", MountInfo.Unescape("bad\\9"));
    }

    [Fact]
    public void Survives_RandomGarbage()
    {
        var rnd = new Random(7);
        const string alphabet = " -\\0123456789abc/\n";
        for (int i = 0; i < 10_000; i++)
        {
            var chars = new char[rnd.Next(0, 200)];
            for (int j = 0; j < chars.Length; j++) chars[j] = alphabet[rnd.Next(alphabet.Length)];
            MountInfo.Parse(new string(chars));
        }
    }
}

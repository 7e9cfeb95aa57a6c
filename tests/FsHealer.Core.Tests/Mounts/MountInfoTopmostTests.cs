using FsHealer.Mounts;

namespace FsHealer.Core.Tests.Mounts;

/// <summary>The helpers on top of the one mountinfo grammar: topmost mount at a place, the kernel's device name.</summary>
public class MountInfoTopmostTests
{
    private const string Sample =
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n" +
        "96 22 7:3 / /tmp/x\\040y/mnt rw,relatime shared:50 - xfs /dev/loop3 rw,attr2,inode64,logbufs=8,noquota\n" +
        "97 22 7:4 / /tmp/x\\040y/mnt rw,relatime - xfs /dev/loop4 rw,noquota\n" +
        "garbage line\n\n";

    [Fact]
    public void Parses_Unescapes_AndFindsTopmostMount()
    {
        var diagnostics = new List<string>();
        var all = MountInfoParser.ParseAll(Sample, diagnostics);
        Assert.Equal(3, all.Count);
        Assert.Single(diagnostics); // the garbage line; empty lines are not errors
        var e = MountInfoParser.FindTopmost(all, "/tmp/x y/mnt/");
        Assert.NotNull(e);
        Assert.Equal(("xfs", "/dev/loop4", "rw,noquota", 97u), (e.FsType, e.Source, e.SuperOptions, e.LegacyId));
        Assert.Equal("loop4", e.KernelDeviceName);
        Assert.Null(MountInfoParser.FindTopmost(all, "/nope"));
        Assert.Equal("a\\b c", MountInfoParser.Unescape("a\\134b\\040c"));
        Assert.Equal("bad\\9", MountInfoParser.Unescape("bad\\9"));
    }

    [Fact]
    public void Root_IsNotTrimmed_AndLastMatchWins()
    {
        var all = MountInfoParser.ParseAll(Sample, []);
        Assert.Equal(22u, MountInfoParser.FindTopmost(all, "/")!.LegacyId);
        Assert.Equal(97u, MountInfoParser.FindTopmost(all, "/tmp/x y/mnt")!.LegacyId);
        Assert.Equal(96u, MountInfoParser.FindTopmost(all.Take(2), "/tmp/x y/mnt//")!.LegacyId);
        Assert.Null(MountInfoParser.FindTopmost([], "/"));
    }

    [Fact]
    public void KernelDeviceName_StripsOnlyDev_AndFullFsTypeKeepsTheSubtype()
    {
        Assert.Equal("mapper/vg-lv", new MountEntry { Source = "/dev/mapper/vg-lv" }.KernelDeviceName);
        Assert.Equal("tmpfs", new MountEntry { Source = "tmpfs" }.KernelDeviceName);
        Assert.Equal("host:/dev/x", new MountEntry { Source = "host:/dev/x" }.KernelDeviceName);
        var fuse = MountInfoParser.ParseLine("50 22 0:45 / /mnt/f rw - fuse.sshfs host:/x rw", out _)!;
        Assert.Equal(("fuse", "fuse.sshfs"), (fuse.FsType, fuse.FullFsType));
        Assert.Equal("xfs", MountInfoParser.ParseLine("43 22 7:1 / /m rw - xfs /dev/loop1 rw", out _)!.FullFsType);
    }

    [Fact]
    public void Survives_RandomGarbage()
    {
        var rnd = new Random(7);
        const string alphabet = " -\\0123456789abc/\n";
        for (int i = 0; i < 10_000; i++)
        {
            var all = MountInfoParser.ParseAll(new string(rnd.GetItems(alphabet.AsSpan(), rnd.Next(0, 200))), []);
            _ = MountInfoParser.FindTopmost(all, "/");
            foreach (var e in all) _ = e.KernelDeviceName;
        }
    }
}

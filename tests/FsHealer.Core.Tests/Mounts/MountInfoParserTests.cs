using FsHealer.Mounts;

namespace FsHealer.Core.Tests.Mounts;

public class MountInfoParserTests
{
    [Fact]
    public void ParsesAStandardLine()
    {
        var e = MountInfoParser.ParseLine("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue", out var err);
        Assert.Null(err);
        Assert.NotNull(e);
        Assert.Equal(36u, e.LegacyId); Assert.Equal(35u, e.ParentLegacyId);
        Assert.Equal(0UL, e.UniqueId); Assert.Equal(36UL, e.Key);
        Assert.Equal("98:0", e.Dev);
        Assert.Equal("/mnt1", e.MntRoot); Assert.False(e.IsRootMount);
        Assert.Equal("/mnt2", e.MountPoint);
        Assert.Equal("rw,noatime", e.MountOptions);
        Assert.Equal("ext3", e.FsType); Assert.Equal("/dev/root", e.Source);
        Assert.Equal("rw,errors=continue", e.SuperOptions);
        Assert.False(e.ReadOnly);
    }

    [Fact]
    public void NoOptionalFieldsAndReadOnly()
    {
        var e = MountInfoParser.ParseLine("43 22 7:1 / /mnt/xfs ro,relatime - xfs /dev/loop1 ro,attr2,inode64", out _)!;
        Assert.True(e.IsRootMount);
        Assert.True(e.ReadOnly);
        Assert.True(e.SuperblockReadOnly);
        Assert.Equal("xfs", e.FsType);
    }

    [Fact]
    public void ManyOptionalFieldsAndSubtype()
    {
        var e = MountInfoParser.ParseLine("50 22 0:45 / /mnt/f rw shared:1 master:2 propagate_from:3 unbindable - fuse.sshfs host:/x rw,user_id=0", out _)!;
        Assert.Equal("fuse", e.FsType); Assert.Equal("sshfs", e.FsSubtype);
        Assert.Equal("host:/x", e.Source);
    }

    [Theory]
    [InlineData(@"/mnt/my\040disk", "/mnt/my disk")]
    [InlineData(@"/a\011b\012c\134d", "/a\tb\nc\\d")]
    [InlineData(@"/bad\04", @"/bad\04")]
    [InlineData(@"/bad\999", @"/bad\999")]
    [InlineData(@"/utf\303\251", "/utfé")]
    [InlineData(@"/end\", @"/end\")]
    public void Escapes(string raw, string expected) => Assert.Equal(expected, MountInfoParser.Unescape(raw));

    [Fact]
    public void BindMountOfSubdirectory()
    {
        var all = MountInfoParser.ParseAll(
            "43 22 7:1 / /mnt/xfs rw - xfs /dev/loop1 rw\n" +
            "44 22 7:1 /sub\\040dir /mnt/bind rw - xfs /dev/loop1 rw\n", []);
        Assert.Equal(2, all.Count);
        Assert.Equal("/sub dir", all[1].MntRoot);
        var t = new MountTracker();
        var ev = t.Reconcile(all);
        Assert.Single(ev);
        Assert.Equal(["/mnt/xfs"], t.Targets.Single().Mounts.Select(m => m.MountPoint));
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("1 2 3 4 5 6 7 8 9 10")]
    [InlineData("x 2 7:1 / /m rw - xfs /dev/l rw")]
    [InlineData("1 y 7:1 / /m rw - xfs /dev/l rw")]
    [InlineData("1 2 71 / /m rw - xfs /dev/l rw")]
    [InlineData("1 2 7:z / /m rw - xfs /dev/l rw")]
    [InlineData("1 2 7:1 / /m rw a b c - xfs")]
    [InlineData("1 2 7:1 / /m rw shared:1 xfs /dev/l rw x")]
    [InlineData("1 2 7:1  /m rw - xfs /dev/l rw")]
    public void GarbageLinesGiveDiagnostics(string line)
    {
        var d = new List<string>();
        var all = MountInfoParser.ParseAll(line + "\n43 22 7:1 / /ok rw - xfs /dev/loop1 rw", d);
        Assert.Single(all);
        Assert.Equal("/ok", all[0].MountPoint);
        if (line.Length > 0) Assert.Single(d); else Assert.Empty(d);
    }

    [Fact]
    public void HugeLineRejected()
    {
        var d = new List<string>();
        var all = MountInfoParser.ParseAll("1 2 7:1 / /" + new string('a', 100_000) + " rw - xfs /dev/l rw", d);
        Assert.Empty(all);
        Assert.Contains(d, x => x.Contains("too long"));
    }

    [Fact]
    public void RandomGarbageNeverThrows()
    {
        var rng = new Random(7);
        const string good = "36 35 98:0 /mnt\\0401 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue";
        const string alphabet = " -:\\0123456789abc/\n\t";
        for (int i = 0; i < 10_000; i++)
        {
            var chars = good.ToCharArray();
            int n = rng.Next(1, 8);
            for (int k = 0; k < n; k++) chars[rng.Next(chars.Length)] = alphabet[rng.Next(alphabet.Length)];
            var s = new string(chars, 0, rng.Next(chars.Length + 1));
            _ = MountInfoParser.ParseAll(s, []);
        }
    }
}

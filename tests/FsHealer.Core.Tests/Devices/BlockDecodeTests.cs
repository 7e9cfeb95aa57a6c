using FsHealer.Devices;

namespace FsHealer.Core.Tests.Devices;

public sealed class BlockDecodeTests
{
    [Theory]
    [InlineData("0x1f\n", 31UL)]
    [InlineData("0X1F", 31UL)]
    [InlineData("  0x0 ", 0UL)]
    [InlineData("42\n", 42UL)]
    [InlineData("0", 0UL)]
    [InlineData("0xffffffffffffffff", ulong.MaxValue)]
    public void Number_HexAndDecimal(string text, ulong expected)
    {
        Assert.True(BlockDecode.TryParseNumber(text, out ulong v));
        Assert.Equal(expected, v);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0x")]
    [InlineData("0xg1")]
    [InlineData("-1")]
    [InlineData("1 2")]
    [InlineData("0x10000000000000000")]
    [InlineData("running")]
    [InlineData("+5")]
    public void Number_GarbageIsRejected(string? text) => Assert.False(BlockDecode.TryParseNumber(text, out _));

    [Fact]
    public void State_FirstLineTrimmed_GarbageNull()
    {
        Assert.Equal("running", BlockDecode.ParseState("running\n"));
        Assert.Equal("live", BlockDecode.ParseState(" live \nextra"));
        Assert.Null(BlockDecode.ParseState(""));
        Assert.Null(BlockDecode.ParseState("\n"));
        Assert.Null(BlockDecode.ParseState("two words"));
        Assert.Null(BlockDecode.ParseState("bad\u0001ctl"));
        Assert.Null(BlockDecode.ParseState(new string('x', 65)));
        Assert.Null(BlockDecode.ParseState(null));
    }

    [Fact]
    public void Stat_ElevenToSeventeenFields()
    {
        var s = BlockDecode.ParseStat("  631678   705487 85586682   230224  1051095   117294 264742688   684096        3   241548   959757   130231      166 187033640    24947   247600    20488\n");
        Assert.NotNull(s);
        Assert.Equal(631678UL, s.Value.Reads);
        Assert.Equal(85586682UL, s.Value.SectorsRead);
        Assert.Equal(1051095UL, s.Value.Writes);
        Assert.Equal(264742688UL, s.Value.SectorsWritten);
        Assert.Equal(3UL, s.Value.InFlight);
        Assert.Equal(241548UL, s.Value.IoTicksMs);
        Assert.Equal(631678UL + 1051095UL, s.Value.Ios);
        Assert.NotNull(BlockDecode.ParseStat("1 2 3 4 5 6 7 8 9 10 11"));
        Assert.Null(BlockDecode.ParseStat("1 2 3 4 5 6 7 8 9 10"));
        Assert.Null(BlockDecode.ParseStat("1 2 3 4 5 6 7 8 9 10 x"));
        Assert.Null(BlockDecode.ParseStat("1 2 3 4 5 6 7 8 -9 10 11"));
        Assert.Null(BlockDecode.ParseStat(""));
        Assert.Null(BlockDecode.ParseStat(null));
    }

    [Fact]
    public void DevNumber_Uevent_BackingFile()
    {
        Assert.True(BlockDecode.TryParseDevNumber("259:3\n", out uint ma, out uint mi));
        Assert.Equal((259u, 3u), (ma, mi));
        foreach (var bad in new[] { "", ":", "1:", ":1", "a:b", "1:2:3", "-1:2", "1", null })
            Assert.False(BlockDecode.TryParseDevNumber(bad, out _, out _), bad ?? "null");
        var u = BlockDecode.ParseUevent("MAJOR=8\nMINOR=17\nDEVNAME=sdb1\nDEVTYPE=partition\ngarbage\n=x\n");
        Assert.Equal("partition", u["DEVTYPE"]);
        Assert.Equal("sdb1", u["DEVNAME"]);
        Assert.Equal(4, u.Count);
        Assert.Equal(("/tmp/x.img", false), BlockDecode.ParseBackingFile("/tmp/x.img\n"));
        Assert.Equal(("/tmp/x.img", true), BlockDecode.ParseBackingFile("/tmp/x.img (deleted)\n"));
        Assert.Null(BlockDecode.ParseBackingFile("\n"));
        Assert.Null(BlockDecode.ParseBackingFile("relative/path"));
        Assert.Null(BlockDecode.ParseBackingFile(null));
    }

    [Fact]
    public void Decoders_SurviveGarbage()
    {
        var rng = new Random(20261121);
        const string alphabet = "0123456789abcdefxX: \n\t=/-()deleted\u0000\u00ff";
        for (int i = 0; i < 10_000; i++)
        {
            var chars = new char[rng.Next(0, 80)];
            for (int j = 0; j < chars.Length; j++) chars[j] = alphabet[rng.Next(alphabet.Length)];
            var s = new string(chars);
            if (BlockDecode.TryParseNumber(s, out ulong n)) Assert.True(s.Trim().Length > 0);
            var st = BlockDecode.ParseState(s);
            if (st is not null) Assert.DoesNotContain(' ', st);
            var stat = BlockDecode.ParseStat(s);
            if (stat is not null) Assert.True(s.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries).Length >= 11);
            BlockDecode.TryParseDevNumber(s, out _, out _);
            BlockDecode.ParseUevent(s);
            if (BlockDecode.ParseBackingFile(s) is { } b) Assert.StartsWith("/", b.Path);
            BlockDecode.ParseText(s);
        }
    }

    [Fact]
    public void FactTables_AreConsistent()
    {
        Assert.Equal(BlockFacts.Health.Length, BlockFacts.Health.Select(f => (f.File, f.Name)).Distinct().Count());
        foreach (var f in BlockFacts.Health)
        {
            Assert.False(f.File.StartsWith('/'));
            Assert.True(f.Format == FactFormat.State || f.OkStates is null, f.Name);
            Assert.True(f.Format == FactFormat.Counter || !f.RiseIsProblem, f.Name);
        }
        Assert.Contains(BlockFacts.Health, f => f.File == "device/ioerr_cnt" && f.RiseIsProblem);
        Assert.Contains(BlockFacts.Health, f => f.File == "md/degraded" && f.RiseIsProblem);
    }
}

using FsHealer.Xfs;

namespace FsHealer.Core.Tests.Xfs;

public class TablesAndPlannerTests
{
    [Fact]
    public void BitToScrubType_MatchesReferenceTables()
    {
        uint[] fs = [24, 21, 22, 23, 19, 20, 25, 26, 0, 0];
        uint[] ag = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0];
        uint[] rg = [30, 19, 20, 31, 32];
        uint[] ino = [11, 12, 13, 14, 15, 16, 17, 18, 28];
        Check(XfsHealthTables.FsStructures, fs);
        Check(XfsHealthTables.AgStructures, ag);
        Check(XfsHealthTables.RtGroupStructures, rg);
        Check(XfsHealthTables.InodeStructures, ino);

        static void Check(FlagMap map, uint[] expected)
        {
            Assert.Equal(expected.Length, map.Entries.Length);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.Equal(1u << i, map.Entries[i].Flag);
                Assert.Equal(expected[i], map.Entries[i].ScrubType);
            }
        }
    }

    [Fact]
    public void Plan_InodeEvent_LowBitFirst_WithInoGen()
    {
        var steps = RepairPlanner.Plan(HealthMonitorEvent.Inode(HealthEventType.Sick, 131, 7, 0x90 | 0x1));
        Assert.Equal([ScrubType.Inode, ScrubType.Dir, ScrubType.Parent], steps.Select(s => s.ScrubType));
        Assert.All(steps, s => { Assert.Equal(131UL, s.Ino); Assert.Equal(7u, s.Gen); Assert.Equal(0u, s.Agno); });
        Assert.Equal(ScrubFlags.IFlagRepair, steps[0].ToRequest().Flags);
    }

    [Fact]
    public void Plan_AgEvent_SkipsInodesBit_UsesAgno()
    {
        var e = HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Sick, 4, 0x400 | 0x10 | 0x100);
        var steps = RepairPlanner.Plan(e);
        Assert.Equal([ScrubType.BnoBt, ScrubType.RmapBt], steps.Select(s => s.ScrubType));
        Assert.All(steps, s => Assert.Equal(4u, s.Agno));
        Assert.Equal(0x400u, RepairPlanner.UnrepairableBits(e));
    }

    [Fact]
    public void Plan_FsEvent_MetadirAndMetapathNotRepaired()
    {
        var steps = RepairPlanner.Plan(HealthMonitorEvent.Fs(HealthEventType.Sick, 0x300 | 0x80));
        Assert.Equal([ScrubType.NLinks], steps.Select(s => s.ScrubType));
    }

    [Fact]
    public void Plan_RtGroup_UsesRgno()
    {
        var steps = RepairPlanner.Plan(HealthMonitorEvent.Group(HealthDomain.RtGroup, HealthEventType.Sick, 2, 0x1f));
        Assert.Equal([ScrubType.RgSuper, ScrubType.RtBitmap, ScrubType.RtSum, ScrubType.RtRmapBt, ScrubType.RtRefcBt], steps.Select(s => s.ScrubType));
        Assert.All(steps, s => Assert.Equal(2u, s.Agno));
    }

    [Fact]
    public void Plan_NonMetadataDomains_Nothing()
    {
        Assert.Empty(RepairPlanner.Plan(HealthMonitorEvent.Media(HealthDomain.DataDev, 1, 1)));
        Assert.Empty(RepairPlanner.Plan(HealthMonitorEvent.FileRange(HealthEventType.BufRead, 1, 1, 0, 1, 5)));
        Assert.Empty(RepairPlanner.Plan(HealthMonitorEvent.Lost(1)));
    }

    [Theory]
    [InlineData(0, 0u, RepairOutcome.Success)]
    [InlineData(5, 0u, RepairOutcome.Failed)]
    [InlineData(0, ScrubFlags.OFlagCorrupt, RepairOutcome.Failed)]
    [InlineData(0, ScrubFlags.OFlagIncomplete, RepairOutcome.Failed)]
    [InlineData(0, ScrubFlags.OFlagXFail, RepairOutcome.ProbablyOk)]
    [InlineData(0, ScrubFlags.OFlagXFail | ScrubFlags.OFlagCorrupt, RepairOutcome.Failed)]
    [InlineData(0, ScrubFlags.OFlagNoRepairNeeded, RepairOutcome.Unnecessary)]
    [InlineData(0, ScrubFlags.OFlagXFail | ScrubFlags.OFlagNoRepairNeeded, RepairOutcome.ProbablyOk)]
    [InlineData(0, ScrubFlags.OFlagPreen | ScrubFlags.OFlagWarning, RepairOutcome.Success)]
    public void Classify(int errno, uint oflags, RepairOutcome expected) => Assert.Equal(expected, RepairPlanner.Classify(errno, oflags));

    [Theory]
    [InlineData("none", false, false, HealerDecision.Exit)]
    [InlineData("none", true, true, HealerDecision.Exit)]
    [InlineData("check", false, false, HealerDecision.LogOnly)]
    [InlineData("optimize", false, false, HealerDecision.LogOnly)]
    [InlineData("repair", false, false, HealerDecision.Repair)]
    [InlineData(null, false, false, HealerDecision.Exit)]
    [InlineData(null, true, false, HealerDecision.LogOnly)]
    [InlineData(null, false, true, HealerDecision.LogOnly)]
    [InlineData("Repair", true, true, HealerDecision.LogOnly)]
    [InlineData("repair ", true, false, HealerDecision.LogOnly)]
    [InlineData("", false, false, HealerDecision.Exit)]
    public void AutofsckTable(string? value, bool rmap, bool parent, HealerDecision expected) =>
        Assert.Equal(expected, Autofsck.Decide(Autofsck.Parse(value), rmap, parent));

    [Fact]
    public void Autofsck_TrailingNulIsIgnored() =>
        Assert.Equal(AutofsckValue.Repair, Autofsck.Parse("repair\0garbage"u8));

    [Fact]
    public void FlagMap_LowestNameAndValueName()
    {
        Assert.Equal("directory", XfsHealthTables.InodeStructures.LowestName(0x90));
        Assert.Equal("unknown flag", XfsHealthTables.InodeStructures.LowestName(0x200));
        Assert.Equal("unknown value", XfsHealthTables.HealthTypes.ValueName(0));
    }
}

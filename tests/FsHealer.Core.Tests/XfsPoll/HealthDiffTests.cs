using FsHealer.Xfs;

namespace FsHealer.Core.Tests.XfsPoll;

public class HealthDiffTests
{
    private static HealthSnapshot Snap(uint fs = 0, (uint, uint)[]? ags = null, (ulong, uint, uint)[]? inodes = null)
    {
        var s = new HealthSnapshot { Fs = new HealthMasks(fs, 0) };
        foreach (var (a, m) in ags ?? []) s.Ags[a] = new HealthMasks(m, 0);
        foreach (var (i, g, m) in inodes ?? []) s.Inodes[i] = new InodeHealth(g, m, 0);
        return s;
    }

    [Fact]
    public void NewBits_AreSick_ClearedBits_AreHealthy_UnchangedIsSilent()
    {
        var prev = Snap(fs: 0x1, ags: [(0, 0x40), (1, 0x10)], inodes: [(131, 7, 0x10)]);
        var cur = Snap(fs: 0x1 | 0x80, ags: [(0, 0x40 | 0x400), (1, 0)], inodes: [(131, 7, 0x10 | 0x20)]);
        var ev = HealthDiff.Diff(prev, cur, 99);
        Assert.Equal(
        [
            HealthMonitorEvent.Fs(HealthEventType.Sick, 0x80, 99),
            HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Sick, 0, 0x400, 99),
            HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Healthy, 1, 0x10, 99),
            HealthMonitorEvent.Inode(HealthEventType.Sick, 131, 7, 0x20, 99),
        ], ev);
        Assert.Empty(HealthDiff.Diff(cur, cur));
    }

    [Fact]
    public void SameObject_CanBeBothSickAndHealthy_SickFirst()
    {
        var ev = HealthDiff.Diff(Snap(ags: [(2, 0x1)]), Snap(ags: [(2, 0x2)]));
        Assert.Equal(2, ev.Count);
        Assert.Equal((HealthEventType.Sick, 0x2u, 2u), (ev[0].Type, ev[0].Mask, ev[0].GroupNumber));
        Assert.Equal((HealthEventType.Healthy, 0x1u, 2u), (ev[1].Type, ev[1].Mask, ev[1].GroupNumber));
    }

    [Fact]
    public void FirstPoll_ReportsEverythingAlreadySick()
    {
        var ev = HealthDiff.Diff(HealthSnapshot.Empty, Snap(ags: [(1, 0x40)], inodes: [(262272, 3, 0x10)]));
        Assert.Equal(["/m agno 0x1 inobt: sick", "/m ino 262272 gen 0x3 directory: sick"], ev.Select(e => XfsEventFormatter.FormatEvent(e, "/m")));
    }

    [Fact]
    public void AbsentObjects_ProduceNothing_AndGenerationChangeIsANewInode()
    {
        // AG 1 and inode 5 not read this time (ioctl failed / not scanned): no HEALTHY
        Assert.Empty(HealthDiff.Diff(Snap(ags: [(1, 0x40)], inodes: [(5, 1, 0x10)]), Snap()));
        // inode 5 reused with a new generation: its bits are all new; the old inode gets no HEALTHY
        var ev = HealthDiff.Diff(Snap(inodes: [(5, 1, 0x10)]), Snap(inodes: [(5, 2, 0x10)]));
        var e = Assert.Single(ev);
        Assert.Equal((HealthEventType.Sick, 2u, 0x10u), (e.Type, e.InodeGen, e.Mask));
    }

    [Fact]
    public void CheckedOnlyChanges_AreSilent_AndRtGroupsAreDiffed()
    {
        var a = new HealthSnapshot(); a.Ags[0] = new HealthMasks(0, 0);
        var b = new HealthSnapshot(); b.Ags[0] = new HealthMasks(0, 0xff); b.RtGroups[3] = new HealthMasks(0x2, 0x2);
        var e = Assert.Single(HealthDiff.Diff(a, b));
        Assert.Equal("/m rgno 0x3 bitmap: sick", XfsEventFormatter.FormatEvent(e, "/m"));
    }

    [Fact]
    public void SnapshotAddInode_KeepsOnlyInterestingInodes()
    {
        var prev = Snap(inodes: [(10, 1, 0x10)]);
        var cur = new HealthSnapshot();
        cur.AddInode(9, new InodeHealth(1, 0, 0), prev);   // healthy, unknown before: not kept
        cur.AddInode(10, new InodeHealth(1, 0, 0), prev);  // was sick: kept so HEALTHY can be reported
        cur.AddInode(11, new InodeHealth(1, 0x20, 0), prev);
        cur.CarryInode(12, prev);                            // not in prev: nothing
        Assert.Equal([10UL, 11UL], cur.Inodes.Keys);
        var ev = HealthDiff.Diff(prev, cur);
        Assert.Equal([(HealthEventType.Healthy, 10UL), (HealthEventType.Sick, 11UL)], ev.Select(e => (e.Type, e.InodeIno)));
    }

    /// <summary>Property: replaying the diff's events on the previous sick masks gives the current masks.</summary>
    [Fact]
    public void Property_EventsTransformPreviousIntoCurrent()
    {
        var rnd = new Random(1234);
        for (int iter = 0; iter < 2000; iter++)
        {
            HealthSnapshot Gen()
            {
                var s = new HealthSnapshot { Fs = new HealthMasks((uint)rnd.Next(0, 1024), 0) };
                for (uint a = 0; a < 4; a++) s.Ags[a] = new HealthMasks((uint)rnd.Next(0, 2048), 0);
                for (ulong i = 128; i < 140; i++) if (rnd.Next(2) == 0) s.Inodes[i] = new InodeHealth(1, (uint)rnd.Next(0, 512), 0);
                return s;
            }
            var p = Gen(); var c = Gen();
            foreach (var k in p.Inodes.Keys) if (!c.Inodes.ContainsKey(k)) c.Inodes[k] = p.Inodes[k] with { Sick = 0 };
            var fs = p.Fs.Sick; var ags = p.Ags.ToDictionary(x => x.Key, x => x.Value.Sick);
            var ino = p.Inodes.ToDictionary(x => x.Key, x => x.Value.Sick);
            foreach (var e in HealthDiff.Diff(p, c))
            {
                Assert.NotEqual(0u, e.Mask);
                uint Apply(uint m) => e.Type == HealthEventType.Sick ? m | e.Mask : m & ~e.Mask;
                switch (e.Domain)
                {
                    case HealthDomain.Fs: fs = Apply(fs); break;
                    case HealthDomain.Ag: ags[e.GroupNumber] = Apply(ags[e.GroupNumber]); break;
                    case HealthDomain.Inode: ino[e.InodeIno] = Apply(ino.GetValueOrDefault(e.InodeIno)); break;
                }
            }
            Assert.Equal(c.Fs.Sick, fs);
            foreach (var (a, m) in c.Ags) Assert.Equal(m.Sick, ags[a]);
            foreach (var (i, h) in c.Inodes) Assert.Equal(h.Sick, ino.GetValueOrDefault(i));
        }
    }
}

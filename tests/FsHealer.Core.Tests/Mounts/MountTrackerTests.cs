using FsHealer.Mounts;

namespace FsHealer.Core.Tests.Mounts;

public class MountTrackerTests
{
    private static MountEntry M(ulong id, uint minor, string point, string root = "/", string type = "xfs", string src = "") => new()
    {
        UniqueId = id, LegacyId = (uint)(id & 0xffff), DevMajor = 7, DevMinor = minor, MountPoint = point, MntRoot = root,
        FsType = type, Source = src.Length > 0 ? src : $"/dev/loop{minor}",
    };

    [Fact]
    public void InitialSweepFindsRootMountsOfSupportedTypes()
    {
        var t = new MountTracker();
        var ev = t.Reconcile([
            M(1, 1, "/mnt/xfs"), M(2, 2, "/mnt/e4", type: "ext4"), M(3, 3, "/mnt/b", type: "btrfs"),
            M(4, 0, "/proc", type: "proc"), M(5, 1, "/mnt/bind", root: "/sub"), M(6, 4, "/mnt/t", type: "tmpfs"),
        ]);
        Assert.Equal(3, ev.Count);
        Assert.All(ev, e => Assert.Equal(TargetEventKind.Attached, e.Kind));
        Assert.Equal(["/mnt/xfs", "/mnt/e4", "/mnt/b"], ev.Select(e => e.Target.PreferredPath));
        Assert.Equal(MountRole.BindOfSubtree, t.Classify(M(5, 1, "/mnt/bind", root: "/sub")));
        Assert.Equal(MountRole.Unsupported, t.Classify(M(6, 4, "/mnt/t", type: "tmpfs")));
        Assert.Equal(6, t.MountCount);
    }

    [Fact]
    public void BindMountOfSubdirectoryIsIgnored()
    {
        var t = new MountTracker();
        Assert.Empty(t.Upsert(M(10, 1, "/mnt/bind", root: "/dir")));
        Assert.Empty(t.Targets);
        Assert.Single(t.Upsert(M(11, 1, "/mnt/xfs")));
        Assert.Empty(t.Remove(10));
        Assert.Single(t.Targets);
    }

    [Fact]
    public void SecondRootMountOfSameSuperblockIsSameTarget()
    {
        var t = new MountTracker();
        Assert.Single(t.Upsert(M(1, 1, "/a")));
        Assert.Empty(t.Upsert(M(2, 1, "/b")));
        var tg = Assert.Single(t.Targets);
        Assert.Equal("/a", tg.PreferredPath);
        Assert.Equal(["/a", "/b"], tg.Mounts.Select(m => m.MountPoint));
    }

    [Fact]
    public void DetachOfOneOfTwoMountsKeepsTargetAndMovesPreferredPath()
    {
        var t = new MountTracker();
        t.Upsert(M(1, 1, "/a"));
        t.Upsert(M(2, 1, "/b"));
        Assert.Empty(t.Remove(2)); // the non-preferred one: nothing changes
        t.Upsert(M(3, 1, "/c"));
        var ev = Assert.Single(t.Remove(1)); // the preferred one: path moves to the remaining mount
        Assert.Equal(TargetEventKind.Moved, ev.Kind);
        Assert.Equal("/a", ev.OldPath);
        Assert.Equal("/c", ev.Target.PreferredPath);
        var det = Assert.Single(t.Remove(3));
        Assert.Equal(TargetEventKind.Detached, det.Kind);
        Assert.Empty(t.Targets);
    }

    [Fact]
    public void MoveOfTheSameMountId()
    {
        var t = new MountTracker();
        t.Upsert(M(1, 1, "/old"));
        var ev = Assert.Single(t.Upsert(M(1, 1, "/new")));
        Assert.Equal(TargetEventKind.Moved, ev.Kind);
        Assert.Equal("/old", ev.OldPath);
        Assert.Equal("/new", ev.Target.PreferredPath);
        Assert.Empty(t.Upsert(M(1, 1, "/new"))); // duplicate event: nothing
    }

    [Fact]
    public void BindThenUmountOldPlaceIsAMove()
    {
        // mount --bind /old /new (root bind: same sb, root "/"), then umount /old
        var t = new MountTracker();
        t.Upsert(M(1, 1, "/old"));
        Assert.Empty(t.Upsert(M(2, 1, "/new")));
        var ev = Assert.Single(t.Remove(1));
        Assert.Equal(TargetEventKind.Moved, ev.Kind);
        Assert.Equal("/new", ev.Target.PreferredPath);
        Assert.Equal(2UL, ev.Target.PreferredMountId);
    }

    [Fact]
    public void RemoveUnknownAndUnsupportedAreQuiet()
    {
        var t = new MountTracker();
        Assert.Empty(t.Remove(42));
        Assert.Empty(t.Upsert(M(1, 9, "/t", type: "tmpfs")));
        Assert.Empty(t.Remove(1));
        Assert.Equal(0, t.MountCount);
    }

    [Fact]
    public void RescanReconcilesExactlyWithoutDuplicates()
    {
        var t = new MountTracker();
        t.Reconcile([M(1, 1, "/a"), M(2, 2, "/b"), M(3, 3, "/c"), M(4, 3, "/c2")]);
        // missed while overflowed: /a vanished, /d appeared, /c's preferred mount vanished, /b unchanged
        var ev = t.Reconcile([M(2, 2, "/b"), M(4, 3, "/c2"), M(5, 4, "/d")]);
        Assert.Equal(3, ev.Count);
        Assert.Contains(ev, e => e.Kind == TargetEventKind.Detached && e.Target.PreferredPath == "/a");
        Assert.Contains(ev, e => e.Kind == TargetEventKind.Moved && e.Target.PreferredPath == "/c2" && e.OldPath == "/c");
        Assert.Contains(ev, e => e.Kind == TargetEventKind.Attached && e.Target.PreferredPath == "/d");
        Assert.Empty(t.Reconcile([M(2, 2, "/b"), M(4, 3, "/c2"), M(5, 4, "/d")]));
        Assert.Equal(3, t.MountCount);
        Assert.Equal(["/b", "/c2", "/d"], t.Targets.Select(x => x.PreferredPath).Order());
    }

    [Fact]
    public void ApplyDispatchesChanges()
    {
        var t = new MountTracker();
        Assert.Single(t.Apply(MountChange.Upsert(M(1, 1, "/a"))));
        Assert.Single(t.Apply(MountChange.Remove(1)));
        Assert.Single(t.Apply(MountChange.Snapshot([M(1, 1, "/a")])));
        Assert.Empty(t.Apply(new MountChange(MountChangeKind.Upsert)));
    }

    [Fact]
    public void ThousandMountsAppearAndDisappearExactly()
    {
        var t = new MountTracker();
        var rng = new Random(3);
        var attached = 0; var detached = 0;
        for (uint i = 0; i < 1000; i++)
            foreach (var e in t.Upsert(M(1000 + i, i, $"/m/{i}", type: i % 3 == 0 ? "xfs" : i % 3 == 1 ? "ext4" : "btrfs")))
                if (e.Kind == TargetEventKind.Attached) attached++;
        Assert.Equal(1000, attached);
        Assert.Equal(1000, t.Targets.Count);
        // a rescan with the same table: nothing
        Assert.Empty(t.Reconcile(t.Mounts.ToList()));
        foreach (var i in Enumerable.Range(0, 1000).OrderBy(_ => rng.Next()))
            foreach (var e in t.Remove(1000 + (ulong)i))
                if (e.Kind == TargetEventKind.Detached) detached++;
        Assert.Equal(1000, detached);
        Assert.Empty(t.Targets);
        Assert.Equal(0, t.MountCount);
    }

    [Fact]
    public void RandomOperationsMatchAModel()
    {
        // property: after any sequence of upserts/removes, targets = devs with a supported root mount, and the
        // running set built from the emitted events equals the tracker's target set.
        var rng = new Random(11);
        for (int round = 0; round < 200; round++)
        {
            var t = new MountTracker();
            var fromEvents = new Dictionary<ulong, string>();
            void Track(IEnumerable<TargetEvent> evs)
            {
                foreach (var e in evs)
                {
                    if (e.Kind == TargetEventKind.Attached) { Assert.False(fromEvents.ContainsKey(e.Target.DevKey)); fromEvents[e.Target.DevKey] = e.Target.PreferredPath; }
                    else if (e.Kind == TargetEventKind.Detached) Assert.True(fromEvents.Remove(e.Target.DevKey));
                    else { Assert.Equal(fromEvents[e.Target.DevKey], e.OldPath); fromEvents[e.Target.DevKey] = e.Target.PreferredPath; }
                }
            }
            var model = new Dictionary<ulong, MountEntry>();
            for (int op = 0; op < 60; op++)
            {
                ulong id = (ulong)rng.Next(1, 20);
                switch (rng.Next(5))
                {
                    case 0: case 1:
                        var m = M(id, (uint)rng.Next(4), $"/p{rng.Next(6)}", root: rng.Next(4) == 0 ? "/sub" : "/", type: rng.Next(5) == 0 ? "tmpfs" : "xfs");
                        model[id] = m; Track(t.Upsert(m)); break;
                    case 2: case 3: model.Remove(id); Track(t.Remove(id)); break;
                    default: Track(t.Reconcile(model.Values.ToList())); break;
                }
                var expectDevs = model.Values.Where(x => x.IsRootMount && x.FsType == "xfs").Select(x => x.DevKey).ToHashSet();
                Assert.Equal(expectDevs.Order(), t.Targets.Select(x => x.DevKey).Order());
                Assert.Equal(expectDevs.Order(), fromEvents.Keys.Order());
                foreach (var tg in t.Targets) Assert.Equal(fromEvents[tg.DevKey], tg.PreferredPath);
            }
        }
    }
}

public class MountTrackerDevTests
{
    [Fact]
    public void MountWithoutDeviceNumberIsNeverATarget()
    {
        var t = new MountTracker();
        var e = new MountEntry { UniqueId = 5, HasDev = false, FsType = "xfs", MntRoot = "/", MountPoint = "/x" };
        Assert.Empty(t.Upsert(e));
        Assert.Equal(MountRole.Unsupported, t.Classify(e));
        Assert.Equal(1, t.MountCount);
    }
}

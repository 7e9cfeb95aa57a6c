using FsHealer.Mounts;

namespace FsHealer.Scenario.Tests.Mounts;

/// <summary>A scripted mount source: the tracker is fed exactly as by the fanotify watcher or the mountinfo poller.</summary>
internal sealed class ScriptedMountSource(IReadOnlyList<MountEntry> initial) : IMountSource
{
    public readonly Queue<List<MountChange>> Script = new();
    public int FailWith;
    public string Kind => "scripted";
    public MountChange Snapshot(List<string> diagnostics) => MountChange.Snapshot(initial);
    public int WaitChanges(int timeoutMs, List<MountChange> changes, List<string> diagnostics)
    {
        if (FailWith != 0) return FailWith;
        if (Script.Count > 0) changes.AddRange(Script.Dequeue());
        return 0;
    }
    public void Dispose() { }
}

public class MountFeedScenarioTests
{
    private static MountEntry M(ulong id, uint minor, string point, string root = "/", string type = "xfs") => new()
    {
        UniqueId = id, DevMajor = 7, DevMinor = minor, MountPoint = point, MntRoot = root, FsType = type, Source = $"/dev/loop{minor}",
    };

    [Fact]
    public void WatcherLifecycleWithOverflowRescan()
    {
        var src = new ScriptedMountSource([M(1, 1, "/srv"), M(2, 0, "/proc", type: "proc")]);
        var t = new MountTracker();
        var d = new List<string>();
        var ev = t.Apply(src.Snapshot(d));
        Assert.Equal("/srv", Assert.Single(ev).Target.PreferredPath);

        src.Script.Enqueue([MountChange.Upsert(M(3, 2, "/data", type: "ext4")), MountChange.Upsert(M(4, 2, "/data/sub", root: "/sub", type: "ext4"))]);
        src.Script.Enqueue([MountChange.Upsert(M(3, 2, "/data2", type: "ext4"))]); // mount --move
        // overflow: the source delivers a full snapshot; /srv vanished, /data2 still there, /new appeared
        src.Script.Enqueue([MountChange.Snapshot([M(2, 0, "/proc", type: "proc"), M(3, 2, "/data2", type: "ext4"), M(5, 3, "/new", type: "btrfs")])]);
        src.Script.Enqueue([MountChange.Remove(99)]); // unknown id: quiet

        var all = new List<TargetEvent>();
        for (int i = 0; i < 5; i++)
        {
            all.AddRange(MountFeed.Pump(src, t, 0, d, out int e));
            Assert.Equal(0, e);
        }
        Assert.Equal(
            ["Attached /data", "Moved /data2", "Detached /srv", "Attached /new"],
            all.Select(x => $"{x.Kind} {x.Target.PreferredPath}"));
        Assert.Empty(d);
        Assert.Equal(["/data2", "/new"], t.Targets.Select(x => x.PreferredPath).Order());

        src.FailWith = 9;
        Assert.Empty(MountFeed.Pump(src, t, 0, d, out int err));
        Assert.Equal(9, err);
    }
}

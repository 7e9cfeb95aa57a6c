using System.Text.Json;
using FsHealer.Kernel.Tests.Ext4;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Status;

/// <summary>Issue 17, defect 2 on the real kernel, ext4: damaged → degraded; repaired offline and verified →
/// healthy, although errors about the damaged inode (raised before and during the repair, and by the daemon's own
/// lookups) are recorded around the success.</summary>
[Collection("ext4-kernel")]
public class TruthfulHealthKernelTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    [Fact]
    public void Ext4_damaged_then_repaired_and_verified_is_healthy()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop(["sif /d1/f3 block[0] 0x1234"]);
        string state = Path.Combine(fs.Dir, "state"), cfg = Path.Combine(fs.Dir, "fshealer.json");
        File.WriteAllText(cfg, $$"""{ "rules": [ { "name": "r", "match": { "mount_point": "{{fs.Mnt}}" }, "ext4": { "policy": "offline-repair" } } ] }""");
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state]);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: ext4 filesystem attached", StringComparison.Ordinal)), "the attach", 30);
        Assert.Equal(0, Sh.Fshealer("status", "--state-dir", state, "--config", cfg, "--fs", fs.Mnt).Code);
        // the user hits the damage several times (each read raises an error about the same inode)
        for (int i = 0; i < 3; i++) fs.CatInChild("d1/f3");
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: heal OfflineRepair:")), "the heal", 90);
        Assert.Contains(d.Lines, l => l == $"{fs.Mnt}: heal OfflineRepair: repaired, verified clean, mounted again");
        Thread.Sleep(2000);   // whatever was queued about the old mount is recorded by now
        var st = Sh.Fshealer("status", "--state-dir", state, "--config", cfg, "--fs", fs.Mnt, "--json");
        Out(d.Output);
        Out(st.Out);
        var hist = JsonDocument.Parse(Sh.Fshealer("history", "--state-dir", state, "--json", "--fs", fs.Mnt).Out).RootElement.EnumerateArray()
            .Select(e => $"{e.GetProperty("time").GetString()} {e.GetProperty("class").GetString()} {e.GetProperty("message").GetString()}").Reverse().ToList();
        foreach (var h in hist) Out(h);
        Assert.True(st.Code == 0, $"status after a verified repair: exit {st.Code}\n{st.Out}{st.Err}");
        var f = JsonDocument.Parse(st.Out).RootElement.GetProperty("filesystems")[0];
        Assert.Equal("healthy", f.GetProperty("health").GetString());
        Assert.Equal(0, f.GetProperty("error_count").GetInt64());
        // a new error after the verified repair counts again: the kernel's count and the event
        fs.TriggerFsError("truthful health test");
        d.WaitFor(() => Sh.Fshealer("status", "--state-dir", state, "--config", cfg, "--fs", fs.Mnt).Code != 0, "degraded after a new error", 20);
        d.Kill();
    }

    /// <summary>Issue 17, unmountable filesystems: a mount refused because the ext4 on the device is damaged (bad
    /// geometry) is a problem event naming the device, under the identity its superblock carries.</summary>
    [Fact]
    public void A_mount_refused_because_of_damage_is_a_problem_event_naming_the_device()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop(files: 2);
        string state = Path.Combine(fs.Dir, "state");
        string uuid = Sh.Check("blkid", "-p", "-o", "value", "-s", "UUID", fs.Device).Trim();
        Assert.Equal(0, Ext4Loop.Run("umount", fs.Mnt).Exit);
        Assert.Equal(0, Ext4Loop.Run("debugfs", "-w", "-R", "ssv blocks_count 999999999", fs.Device).Exit);
        using var d = new DaemonProcess(["run", "--state-dir", state]);
        d.WaitFor(() => d.HasLine(l => l.StartsWith("fshealer: watching", StringComparison.Ordinal)), "the start", 30);
        var m = Ext4Loop.Run("mount", "-t", "ext4", fs.Device, fs.Mnt);
        Assert.NotEqual(0, m.Exit);
        d.WaitFor(() => d.Err.Contains($"{fs.Device}: ext4 mount failed: the filesystem is damaged"), "the mount-failure report", 15);
        Thread.Sleep(1000);
        d.Kill();
        Out(d.Err);
        var hist = JsonDocument.Parse(Sh.Fshealer("history", "--state-dir", state, "--json").Out).RootElement.EnumerateArray().ToList();
        var ev = Assert.Single(hist, e => e.TryGetProperty("structure", out var s) && s.GetString() == "mount");
        Assert.Equal("metadata_corrupt", ev.GetProperty("class").GetString());
        Assert.Equal("critical", ev.GetProperty("severity").GetString());
        Assert.Equal(fs.Device, ev.GetProperty("device").GetString());
        Assert.Equal($"uuid:{uuid}", ev.GetProperty("fs_id").GetString());
        Assert.Contains("BadGeometry", ev.GetProperty("message").GetString());
    }
}

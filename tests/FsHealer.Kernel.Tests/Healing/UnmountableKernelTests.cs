using System.Security.Cryptography;
using System.Text.Json;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Healing;

/// <summary>
/// Issue 17, unmountable filesystems, on the real kernel: an ext4 whose primary superblock says a wrong inode count
/// (the kernel refuses: "inodes count not valid"; e2fsck -fy repairs it from a backup superblock). With the
/// "unmountable" policy the daemon repairs the unmounted device and mounts it where a temporary fstab says, with its
/// options; without it nothing is written to the device; another filesystem on the device by the time of the repair
/// is refused. The policy's match is always narrowed to this test's fstab mount points, so that the daemon never
/// touches a device of anything else running on this machine.
/// </summary>
[Collection("ext4-kernel")]
public class UnmountableKernelTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static void Require()
    {
        ScratchFs.Require("ext4", "debugfs", "e2fsck", "mount", "blkid");
        if (!Directory.Exists("/sys/fs/ext4")) Assert.Skip("ext4 not available (/sys/fs/ext4 missing)");
        if (!File.Exists("/dev/kmsg")) Assert.Skip("no /dev/kmsg: mount failures cannot be read");
    }

    /// <summary>An ext4 on a loop device of <paramref name="s"/> holding one file, made unmountable. Returns (device, uuid, file content).</summary>
    private static (string Dev, string Uuid, byte[] Data) Damaged(ScratchFs s, string name)
    {
        string img = s.NewImage(name, 32);
        string dev = s.Attach(img);
        s.Mkfs("ext4", [], dev);
        string mnt = Path.Combine(s.Dir, name + ".populate");
        Directory.CreateDirectory(mnt);
        var data = RandomNumberGenerator.GetBytes(100_000);
        s.Mount(dev, mnt, "-t", "ext4");
        File.WriteAllBytes(Path.Combine(mnt, "payload"), data);
        s.Umount(mnt);
        Sh.Check("debugfs", "-w", "-R", "ssv inodes_count 12345", dev);
        string uuid = Sh.Check("blkid", "-p", "-o", "value", "-s", "UUID", dev).Trim();
        Assert.NotEqual(0, Sh.Run("mount", "-t", "ext4", dev, mnt).Code);   // the kernel refuses it
        return (dev, uuid, data);
    }

    private static string Sha(string dev) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(dev)));

    private static string Config(ScratchFs s, string fstab, string matchMountPoint, bool repair = true)
    {
        string cfg = Path.Combine(s.Dir, "fshealer.json");
        File.WriteAllText(cfg, $$"""{ "unmountable": { "repair": {{(repair ? "true" : "false")}}, "fstab": "{{fstab}}", "match": { "mount_point": "{{matchMountPoint}}" } } }""");
        return cfg;
    }

    private static List<JsonElement> History(string state) =>
        [.. JsonDocument.Parse(Sh.Fshealer("history", "--state-dir", state, "--json").Out).RootElement.EnumerateArray()];

    private static string? MountOptionsAt(string target)
    {
        foreach (var line in File.ReadAllLines("/proc/self/mountinfo"))
        {
            var f = line.Split(' ');
            if (f.Length > 5 && f[4] == target) return f[5] + " " + string.Join(' ', f[(Array.IndexOf(f, "-") + 1)..]);
        }
        return null;
    }

    [Fact]
    public void Policy_on_repairs_the_refused_ext4_and_mounts_it_where_fstab_says_with_its_options()
    {
        Require();
        using var s = new ScratchFs("unmnt");
        var (dev, uuid, data) = Damaged(s, "a.img");
        string target = Path.Combine(s.Dir, "target");
        Directory.CreateDirectory(target);
        string fstab = Path.Combine(s.Dir, "fstab");
        File.WriteAllText(fstab, $"# test fstab\nUUID={uuid} {target} ext4 noatime,nodev,errors=remount-ro,nofail 0 2\n");
        string state = Path.Combine(s.Dir, "state"), cfg = Config(s, fstab, target);
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state]);
        d.WaitFor(() => d.HasLine(l => l.StartsWith("fshealer: watching", StringComparison.Ordinal)), "the start", 30);
        Assert.NotEqual(0, Sh.Run("mount", "-t", "ext4", dev, s.Mnt).Code);
        d.WaitFor(() => d.HasLine(l => l.Contains($"{dev}: unmountable ext4 {uuid}") && (l.Contains("mounted at") || l.Contains("FAILED") || l.Contains("refused"))),
            "the repair's outcome", 90);
        s.Track(target);
        Out(d.Output);
        Assert.Contains(d.Lines, l => l == $"{dev}: unmountable ext4 {uuid} on dev {DevOf(dev)}: repaired, verified clean, mounted at {target}");
        // mounted at the fstab target, with the fstab options, and the daemon attaches it
        var opts = MountOptionsAt(target);
        Assert.NotNull(opts);
        Assert.Contains("noatime", opts);
        Assert.Contains("nodev", opts);
        Assert.Contains("errors=remount-ro", opts);
        Assert.Equal(data, File.ReadAllBytes(Path.Combine(target, "payload")));
        Assert.Equal(uuid, Sh.Check("findmnt", "-n", "-o", "UUID", target).Trim());
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{target}: ext4 filesystem attached", StringComparison.Ordinal)), "the attach of the repaired filesystem", 20);
        Thread.Sleep(500);
        var hist = History(state);
        foreach (var h in hist) Out($"{h.GetProperty("class").GetString()} {h.GetProperty("message").GetString()}");
        var started = Assert.Single(hist, e => e.GetProperty("class").GetString() == "action_started");
        Assert.Equal($"uuid:{uuid}", started.GetProperty("fs_id").GetString());
        var done = Assert.Single(hist, e => e.GetProperty("class").GetString() == "offline_repair");
        Assert.Equal($"uuid:{uuid}", done.GetProperty("fs_id").GetString());
        Assert.Equal("notice", done.GetProperty("severity").GetString());
        Assert.Equal(started.GetProperty("correlation_id").GetString(), done.GetProperty("correlation_id").GetString());
        // status: the refused mount is no longer a problem (repaired and mounted)
        var st = JsonDocument.Parse(Sh.Fshealer("status", "--state-dir", state, "--config", cfg, "--json").Out).RootElement;
        // (other engineers' loop devices on this machine may fail to mount meanwhile: only ours counts here)
        Assert.DoesNotContain(st.GetProperty("unmountable").EnumerateArray(), u => u.GetProperty("device").GetString() == dev);
        Sh.Check("umount", target);
        Assert.Equal(0, Sh.Run("e2fsck", "-fn", dev).Code);
        d.Kill();
    }

    [Fact]
    public void Policy_off_reports_it_in_status_and_writes_nothing_to_the_device()
    {
        Require();
        using var s = new ScratchFs("unmnt");
        var (dev, uuid, _) = Damaged(s, "a.img");
        string target = Path.Combine(s.Dir, "target");
        Directory.CreateDirectory(target);
        string fstab = Path.Combine(s.Dir, "fstab");
        File.WriteAllText(fstab, $"UUID={uuid} {target} ext4 defaults 0 2\n");
        string state = Path.Combine(s.Dir, "state"), cfg = Config(s, fstab, target, repair: false);
        string before = Sha(dev);
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state]);
        d.WaitFor(() => d.HasLine(l => l.StartsWith("fshealer: watching", StringComparison.Ordinal)), "the start", 30);
        Assert.NotEqual(0, Sh.Run("mount", "-t", "ext4", dev, s.Mnt).Code);
        d.WaitFor(() => d.Err.Contains($"{dev}: ext4 mount failed: the filesystem is damaged"), "the mount-failure report", 15);
        Thread.Sleep(3000);
        Assert.Equal(before, Sha(dev));
        Assert.False(ScratchFs.IsMounted(target));
        Assert.DoesNotContain(History(state), e => e.GetProperty("class").GetString() is "action_started" or "offline_repair");
        // status names the device as a problem (error), in text and JSON
        var st = Sh.Fshealer("status", "--state-dir", state, "--config", cfg, "--json");
        Out(st.Out);
        Assert.Equal(2, st.Code);
        var u = Assert.Single(JsonDocument.Parse(st.Out).RootElement.GetProperty("unmountable").EnumerateArray(), x => x.GetProperty("device").GetString() == dev);
        Assert.Equal(dev, u.GetProperty("device").GetString());
        Assert.Equal($"uuid:{uuid}", u.GetProperty("fs_id").GetString());
        var text = Sh.Fshealer("status", "--state-dir", state, "--config", cfg);
        Assert.Contains($"ERROR: unmountable: {dev} (ext4 uuid:{uuid}): the kernel refused to mount it", text.Out);
        // the administrator repairs and mounts it: the problem is gone
        Assert.Equal(1, Sh.Run("e2fsck", "-fy", dev).Code);
        s.Mount(dev, target, "-t", "ext4");
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{target}: ext4 filesystem attached", StringComparison.Ordinal)), "the attach", 20);
        Thread.Sleep(500);
        Assert.DoesNotContain(JsonDocument.Parse(Sh.Fshealer("status", "--state-dir", state, "--config", cfg, "--json").Out).RootElement.GetProperty("unmountable").EnumerateArray(),
            x => x.GetProperty("device").GetString() == dev);
        d.Kill();
    }

    [Fact]
    public void Another_filesystem_on_the_device_by_the_time_of_the_repair_is_refused_and_left_untouched()
    {
        Require();
        using var s = new ScratchFs("unmnt");
        var (devA, uuidA, _) = Damaged(s, "a.img");
        var (devB, uuidB, _) = Damaged(s, "b.img");
        string tA = Path.Combine(s.Dir, "ta"), tB = Path.Combine(s.Dir, "tb");
        Directory.CreateDirectory(tA);
        Directory.CreateDirectory(tB);
        string fstab = Path.Combine(s.Dir, "fstab");
        File.WriteAllText(fstab, $"UUID={uuidA} {tA} ext4 defaults 0 2\nUUID={uuidB} {tB} ext4 defaults 0 2\n");
        string state = Path.Combine(s.Dir, "state"), cfg = Config(s, fstab, Path.Combine(s.Dir, "t*"));
        // A's repair tool is slow (a wrapper first in PATH): B's request waits behind it while B is reformatted
        string bin = Path.Combine(s.Dir, "bin");
        Directory.CreateDirectory(bin);
        string real = Sh.Check("sh", "-c", "command -v e2fsck").Trim();
        File.WriteAllText(Path.Combine(bin, "e2fsck"), $"#!/bin/sh\ncase \"$*\" in *{devA}*) sleep 6;; esac\nexec {real} \"$@\"\n");
        File.SetUnixFileMode(Path.Combine(bin, "e2fsck"), (UnixFileMode)0b111_101_101);
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state],
            new Dictionary<string, string> { ["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}" });
        d.WaitFor(() => d.HasLine(l => l.StartsWith("fshealer: watching", StringComparison.Ordinal)), "the start", 30);
        Assert.NotEqual(0, Sh.Run("mount", "-t", "ext4", devA, s.Mnt).Code);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{devA}: heal plan: OfflineRepair", StringComparison.Ordinal)), "A's repair", 20);
        Assert.NotEqual(0, Sh.Run("mount", "-t", "ext4", devB, s.Mnt).Code);
        d.WaitFor(() => d.Err.Contains($"{devB}: ext4 mount failed: the filesystem is damaged"), "B's report", 15);
        // by the time B's turn comes, another filesystem (another UUID) is on it
        Sh.Check("mkfs.ext4", "-q", "-F", devB);
        string newUuid = Sh.Check("blkid", "-p", "-o", "value", "-s", "UUID", devB).Trim();
        Assert.NotEqual(uuidB, newUuid);
        string before = Sha(devB);
        d.WaitFor(() => d.HasLine(l => l.Contains($"{devB}: REFUSED")), "B's refusal", 60);
        d.WaitFor(() => d.HasLine(l => l.Contains($"{devA}: unmountable ext4 {uuidA}") && l.Contains("mounted at")), "A's outcome", 60);
        s.Track(tA);
        Thread.Sleep(500);
        Out(d.Output);
        Assert.Equal(before, Sha(devB));
        Assert.False(ScratchFs.IsMounted(tB));
        Assert.Contains(d.Lines, l => l.Contains($"{devB}: superblock UUID is {newUuid}, not {uuidB}"));
        var refused = Assert.Single(History(state), e => e.GetProperty("class").GetString() == "repair_refused");
        Assert.Equal($"uuid:{uuidB}", refused.GetProperty("fs_id").GetString());
        Assert.Equal(devB, refused.GetProperty("device").GetString());
        d.Kill();
    }

    /// <summary>XFS: the magic number of AG 1's free-space header zeroed (xfs_db); the mount fails reserving the per-AG
    /// pool (EFSCORRUPTED), xfs_repair rebuilds the header.</summary>
    [Fact]
    public void Policy_on_repairs_a_refused_xfs_and_mounts_it_where_fstab_says()
    {
        ScratchFs.Require("xfs", "xfs_db", "xfs_repair", "mount", "blkid");
        if (!File.Exists("/dev/kmsg")) Assert.Skip("no /dev/kmsg: mount failures cannot be read");
        using var s = new ScratchFs("unmnt");
        string dev = s.Attach(s.NewImage("x.img", 320));
        s.Mkfs("xfs", ["-m", "rmapbt=1"], dev);
        string pop = Path.Combine(s.Dir, "populate");
        Directory.CreateDirectory(pop);
        var data = RandomNumberGenerator.GetBytes(100_000);
        s.Mount(dev, pop, "-t", "xfs");
        File.WriteAllBytes(Path.Combine(pop, "payload"), data);
        s.Umount(pop);
        Sh.Check("xfs_db", "-x", "-c", "agf 1", "-c", "write -d magicnum 0", dev);
        string uuid = Sh.Check("blkid", "-p", "-o", "value", "-s", "UUID", dev).Trim();
        string target = Path.Combine(s.Dir, "target");
        Directory.CreateDirectory(target);
        string fstab = Path.Combine(s.Dir, "fstab");
        File.WriteAllText(fstab, $"{dev} {target} xfs noatime 0 0\n");
        string state = Path.Combine(s.Dir, "state"), cfg = Config(s, fstab, target);
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state]);
        d.WaitFor(() => d.HasLine(l => l.StartsWith("fshealer: watching", StringComparison.Ordinal)), "the start", 30);
        Assert.NotEqual(0, Sh.Run("mount", "-t", "xfs", dev, s.Mnt).Code);
        d.WaitFor(() => d.HasLine(l => l.Contains($"{dev}: unmountable xfs {uuid}") || l.Contains($"{dev}: REFUSED")), "the repair's outcome", 120);
        s.Track(target);
        Out(d.Output);
        Assert.Contains(d.Lines, l => l == $"{dev}: unmountable xfs {uuid} on dev {DevOf(dev)}: repaired, verified clean, mounted at {target}");
        Assert.Contains("noatime", MountOptionsAt(target));
        Assert.Equal(data, File.ReadAllBytes(Path.Combine(target, "payload")));
        Sh.Check("umount", target);
        Assert.Equal(0, Sh.Run("xfs_repair", "-n", dev).Code);
        d.Kill();
    }

    private static string DevOf(string dev)
    {
        var r = Sh.Check("stat", "-L", "-c", "%t:%T", dev).Trim().Split(':');
        return $"{Convert.ToUInt32(r[0], 16)}:{Convert.ToUInt32(r[1], 16)}";
    }
}

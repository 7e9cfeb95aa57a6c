namespace FsHealer.Kernel.Tests.Infra;

/// <summary>
/// The fixtures themselves: whatever step fails, and however much a test leaves behind, Dispose leaves no loop device,
/// mount, FUSE daemon or directory of theirs behind (checked in sysfs, /proc/self/mountinfo and losetup -a).
/// </summary>
public class FixtureSelfTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static string UniqueTag() => "selftest-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Nothing of a fixture whose directory name carries <paramref name="tag"/> is left anywhere.</summary>
    private static void AssertNothingLeft(string tag)
    {
        Assert.DoesNotContain(tag, Sh.Check("losetup", "-a"));
        Assert.DoesNotContain(tag, File.ReadAllText("/proc/self/mountinfo"));
        Assert.Empty(Directory.GetDirectories(Path.GetTempPath(), $"fshealer-{tag}-*"));
    }

    [Fact]
    public void Mkfs_failing_after_two_devices_were_attached_leaves_nothing_behind()
    {
        ScratchFs.Require("btrfs");
        string tag = UniqueTag();
        var e = Assert.Throws<InvalidOperationException>(() => ScratchFs.Create("btrfs", 128, devices: 2, mkfsArgs: ["-d", "raid7"], tag: tag));
        Out(e.Message);
        // it really failed half-way: mkfs ran on two loop devices that the fixture had attached
        Assert.Contains("mkfs.btrfs", e.Message);
        Assert.Equal(2, e.Message.Split(' ').Count(w => w.StartsWith("/dev/loop", StringComparison.Ordinal)));
        AssertNothingLeft(tag);
    }

    [Fact]
    public void Mount_failing_after_mkfs_leaves_nothing_behind()
    {
        ScratchFs.Require("ext4");
        string tag = UniqueTag();
        var e = Assert.Throws<InvalidOperationException>(() => ScratchFs.Create("ext4", 16, mountOptions: "no_such_option", tag: tag));
        Out(e.Message);
        Assert.StartsWith("mount -t ext4 -o no_such_option /dev/loop", e.Message);
        AssertNothingLeft(tag);
    }

    [Fact]
    public void Dispose_undoes_stacked_bind_and_untracked_mounts_and_every_device()
    {
        ScratchFs.Require("ext4");
        string tag = UniqueTag();
        var fs = ScratchFs.Create("ext4", 16, tag: tag);
        using var cleanup = fs; // disposed again at the end even if an assertion below fails
        string bind = Path.Combine(fs.Dir, "bind"), stray = Path.Combine(fs.Dir, "stray");
        Directory.CreateDirectory(bind);
        Directory.CreateDirectory(stray);
        fs.Mount(fs.Mnt, bind, "--bind");
        string second = fs.Attach(fs.NewImage("second.img", 8)); // attached, never used
        Sh.Check("mount", "--bind", bind, stray);                 // not told to the fixture at all
        fs.Umount(fs.Mnt);
        fs.Mount();                                               // mount again on top: the fixture tracks it again
        File.WriteAllText(Path.Combine(fs.Mnt, "x"), "x");
        Assert.Equal(new[] { fs.Mnt, bind, stray }.Order(), ScratchFs.MountsUnder(fs.Dir).Order());
        Assert.Equal(new[] { fs.Loop, second }.Order(), ScratchFs.LoopsBackedUnder(fs.Dir).Order());
        Assert.Contains(tag, Sh.Check("losetup", "-a"));

        string dir = fs.Dir;
        fs.Dispose();
        fs.Dispose(); // twice is harmless
        Assert.Empty(ScratchFs.MountsUnder(dir));
        Assert.Empty(ScratchFs.LoopsBackedUnder(dir));
        Assert.False(Directory.Exists(dir));
        AssertNothingLeft(tag);
    }

    [Fact]
    public void Detach_refuses_a_device_this_fixture_did_not_attach()
    {
        ScratchFs.Require(null);
        using var fs = new ScratchFs(UniqueTag());
        Assert.Throws<InvalidOperationException>(() => fs.Detach("/dev/loop0"));
        string loop = fs.Attach(fs.NewImage("a.img", 1));
        fs.Detach(loop);
        Assert.Empty(fs.Loops);
        Assert.Empty(ScratchFs.LoopsBackedUnder(fs.Dir));
    }

    [Fact]
    public void Faulty_device_fails_exactly_the_chosen_range_and_tears_down_completely()
    {
        FaultyDevice.SkipUnlessPossible();
        string tag = UniqueTag();
        string dir, fuse, loop;
        int pid;
        using (var d = new FaultyDevice(16, tag: tag))
        {
            (dir, fuse, loop, pid) = (d.Dir, d.FuseMnt, d.Device, d.DaemonPid);
            Assert.Contains(fuse, ScratchFs.MountsUnder(d.Dir));
            Assert.Equal([loop], ScratchFs.LoopsBackedUnder(d.Dir));
            d.FailReads(8192, 4096);
            Assert.NotEqual(0, Sh.Run("dd", $"if={loop}", "of=/dev/null", "bs=4096", "skip=2", "count=1", "iflag=direct").Code);
            Assert.Equal(0, Sh.Run("dd", $"if={loop}", "of=/dev/null", "bs=4096", "skip=3", "count=1", "iflag=direct").Code);
            Out($"faultyfs: {d.Counters()}");
            Assert.Contains("read_eio=", d.Counters());
            Assert.DoesNotContain("read_eio=0 ", d.Counters());
            d.Clear();
            Assert.Equal(0, Sh.Run("dd", $"if={loop}", "of=/dev/null", "bs=4096", "skip=2", "count=1", "iflag=direct").Code);
        }
        Assert.Empty(ScratchFs.MountsUnder(dir));
        Assert.Empty(ScratchFs.LoopsBackedUnder(dir));
        Assert.False(Directory.Exists($"/proc/{pid}"), $"faultyfs (pid {pid}) still running");
        AssertNothingLeft(tag);
    }

    [Fact]
    public void Faulty_device_whose_mkfs_fails_leaves_no_daemon_device_or_mount()
    {
        FaultyDevice.SkipUnlessPossible();
        ScratchFs.Require("ext4");
        string tag = UniqueTag();
        var e = Assert.Throws<InvalidOperationException>(() => new FaultyDevice(16, "ext4", ["-O", "no_such_feature"], tag: tag));
        Out(e.Message);
        Assert.Contains("mkfs.ext4", e.Message);
        AssertNothingLeft(tag);
        Assert.DoesNotContain(Sh.Run("pgrep", "-af", "faultyfs").Out.Split('\n'), l => l.Contains(tag, StringComparison.Ordinal));
    }
}

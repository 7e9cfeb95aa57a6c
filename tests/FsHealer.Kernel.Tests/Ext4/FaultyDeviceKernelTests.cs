using FsHealer.Ext4;
using FsHealer.Fanotify;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Ext4.Live;
using FsHealer.Fanotify.Live;
using FsHealer.Healing.Live;

namespace FsHealer.Kernel.Tests.Ext4;

[Collection("ext4-kernel")]
public class FaultyDeviceKernelTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static void SkipUnlessPossible()
    {
        Ext4Loop.SkipUnlessPossible();
        FaultyDevice.SkipUnlessPossible();
    }

    /// <summary>ext4 on the faulty device: d1/f1..f8 written through the kernel, then remounted with <paramref name="mountOptions"/>.</summary>
    private static FaultyDevice FaultyExt4(string mountOptions = "errors=continue") =>
        new FaultyDevice(64, "ext4", ["-E", "lazy_itable_init=0"], tag: "faulty").Then(fs =>
        {
            Directory.CreateDirectory(Path.Combine(fs.Mnt, "d1"));
            var rng = new Random(5);
            for (int i = 1; i <= 8; i++) { var b = new byte[20000]; rng.NextBytes(b); File.WriteAllBytes(Path.Combine(fs.Mnt, "d1", $"f{i}"), b); }
            fs.Fs.Umount();
            fs.Fs.Mount(mountOptions);
        });

    [Fact]
    public void InodeTableReadEio_GivesEioEvent_WithInodeAndGenerationZero()
    {
        SkipUnlessPossible();
        using var fs = FaultyExt4();
        var (off, len, ino) = fs.InodeTableBlock("d1/f7");
        using var h = new WatchHarness(true, fs.Mnt);
        fs.FailReads(off, len);
        FaultyDevice.DropCaches();
        var t0 = DateTimeOffset.UtcNow;
        var (exit, output) = Ext4Loop.Run("stat", Path.Combine(fs.Mnt, "d1", "f7"));
        Assert.NotEqual(0, exit);
        Assert.Contains("Input/output error", output);
        var r = h.Next(x => x.Event.Kind == FsErrorKind.Error, TimeSpan.FromSeconds(5));
        Out($"itable EIO (inode {ino}, bytes {off}+{len}) -> {(r.ReceivedAt - t0).TotalMilliseconds:0.0} ms: {r}; faultyfs: {fs.Counters()}");
        Assert.Equal(5, r.Event.Error);
        Assert.Equal(0u, r.Event.Generation);
        Assert.Null(r.Path); // generation 0: never resolved (it would re-read the failing block)
        // errors_count lags the event: ext4 folds errors into the superblock from deferred work (slow under load)
        for (int i = 0; i < 100 && File.ReadAllText($"/sys/fs/ext4/{fs.DevName}/errors_count").Trim() == "0"; i++) Thread.Sleep(50);
        var st = Ext4SysfsReader.Read(fs.DevName);
        Assert.Equal(1UL, st.ErrorsCount);
        Assert.Equal("EIO", st.LastError!.ErrCodeName);
        Assert.Equal(ino, (uint)st.LastError.Inode);
        Assert.Equal(ino, r.Event.Inode);
    }

    [Fact]
    public void JournalWriteEio_GoesEmergencyRo_AndPlannerSeesIt()
    {
        SkipUnlessPossible();
        using var fs = FaultyExt4();
        using var h = new WatchHarness(false, fs.Mnt);
        // fail every write beyond the superblock area: the journal commit fails and the journal aborts
        fs.FailWrites(64 * 1024, 64L * 1024 * 1024);
        File.WriteAllText(Path.Combine(fs.Mnt, "d1", "new"), "x");
        Ext4Loop.Run("sync");
        Thread.Sleep(300);
        var (exit, output) = Ext4Loop.Run("touch", Path.Combine(fs.Mnt, "d1", "new2"));
        Out($"touch after journal EIO: exit {exit} {output.Trim()}; faultyfs: {fs.Counters()}");
        var events = h.DrainFor(TimeSpan.FromSeconds(2)).Where(x => x.Event.Kind == FsErrorKind.Error).ToList();
        foreach (var e in events) Out(e.ToString());
        var options = Ext4MountOptions.Of(Ext4SysfsReader.FindMount(fs.Mnt)!);
        Out($"mount options: {options}");
        Assert.True(options.EmergencyReadOnly, $"expected emergency_ro in {options}");
        Assert.NotEmpty(events);
        Assert.Contains(events, e => e.Event.FilesystemWide && e.Event.Error is 5 or 30 or 117);
        // the remount after a repair must not pass the kernel's state back as an option
        var spec = FsHealer.Healing.RemountSpec.From(Ext4SysfsReader.FindMount(fs.Mnt)!);
        Assert.DoesNotContain("emergency_ro", spec.Data);
        Assert.DoesNotContain("emergency_ro", spec.OptionsText);
    }
}

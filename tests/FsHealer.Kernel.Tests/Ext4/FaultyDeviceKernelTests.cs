using System.Diagnostics;
using System.Runtime.CompilerServices;
using FsHealer.Core.Ext4;
using FsHealer.Core.Fanotify;
using FsHealer.Linux.Ext4;

namespace FsHealer.Kernel.Tests.Ext4;

/// <summary>
/// ext4 on a loop device over a FUSE file whose reads/writes can be made to fail with EIO (faultyfs.c, built here
/// with gcc + pkg-config fuse3; test-machine.md §4). The FUSE daemon runs in the foreground as our child and is
/// killed by its pid in Dispose.
/// </summary>
public sealed class FaultyExt4 : IDisposable
{
    public string Dir { get; } = Path.Combine("/tmp", $"fshealer-faulty-{Guid.NewGuid():N}");
    public string FuseMnt => Path.Combine(Dir, "fuse");
    public string Mnt => Path.Combine(Dir, "mnt");
    public string Device { get; private set; } = "";
    public string DevName => Path.GetFileName(Device);
    private Process? _daemon;
    private bool _fuseMounted;

    private static string SourceFile([CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "faultyfs", "faultyfs.c");

    public static void SkipUnlessPossible()
    {
        Ext4Loop.SkipUnlessPossible();
        if (!File.Exists(SourceFile())) Assert.Skip($"faultyfs source not found at {SourceFile()}");
        if (Ext4Loop.Run("sh", "-c", "command -v gcc && pkg-config --exists fuse3").Exit != 0) Assert.Skip("gcc or fuse3 development files (pkg-config fuse3) missing");
        if (!File.Exists("/dev/fuse")) Assert.Skip("/dev/fuse missing");
    }

    public FaultyExt4(string mountOptions = "errors=continue")
    {
        Directory.CreateDirectory(FuseMnt);
        Directory.CreateDirectory(Mnt);
        string bin = Path.Combine(Dir, "faultyfs");
        var cflags = Ext4Loop.Must("pkg-config", "fuse3", "--cflags", "--libs").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Ext4Loop.Must("gcc", ["-O2", "-Wall", SourceFile(), .. cflags, "-o", bin]);
        string backing = Path.Combine(Dir, "backing.img");
        Ext4Loop.Must("truncate", "-s", "64M", backing);
        var psi = new ProcessStartInfo(bin) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { backing, FuseMnt, "-f", "-o", "default_permissions" }) psi.ArgumentList.Add(a);
        _daemon = Process.Start(psi)!;
        _fuseMounted = true;
        for (int i = 0; i < 100 && !File.Exists(Path.Combine(FuseMnt, "disk.img")); i++) Thread.Sleep(50);
        if (!File.Exists(Path.Combine(FuseMnt, "disk.img"))) throw new InvalidOperationException("faultyfs did not come up");
        string img = Path.Combine(FuseMnt, "disk.img");
        Ext4Loop.Must("mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0", img);
        Device = Ext4Loop.Must("losetup", "-f", "--show", img).Trim();
        Ext4Loop.Must("mount", "-t", "ext4", Device, Mnt);
        Directory.CreateDirectory(Path.Combine(Mnt, "d1"));
        var rng = new Random(5);
        for (int i = 1; i <= 8; i++) { var b = new byte[20000]; rng.NextBytes(b); File.WriteAllBytes(Path.Combine(Mnt, "d1", $"f{i}"), b); }
        Ext4Loop.Must("umount", Mnt);
        Ext4Loop.Must("mount", "-t", "ext4", "-o", mountOptions, Device, Mnt);
    }

    /// <summary>Byte range of the inode-table block holding <paramref name="rel"/>'s inode.</summary>
    public (long Offset, int Length, uint Inode) InodeTableBlock(string rel)
    {
        var o = Ext4Loop.Must("debugfs", "-R", $"imap /{rel}", Device);
        var tok = o.Split([' ', '\t', '\n', ','], StringSplitOptions.RemoveEmptyEntries);
        uint ino = uint.Parse(tok[Array.IndexOf(tok, "Inode") + 1]);
        long block = long.Parse(tok[Array.LastIndexOf(tok, "block") + 1]); // "Inode N is part of block group G \n located at block B, offset X"
        int bs = int.Parse(Ext4Loop.Must("tune2fs", "-l", Device).Split('\n').First(l => l.StartsWith("Block size:"))["Block size:".Length..].Trim());
        return (block * bs, bs, ino);
    }

    public void FailReads(long offset, long length) => File.WriteAllText(Path.Combine(FuseMnt, "ctl"), $"r {offset} {length}");
    public void FailWrites(long offset, long length) => File.WriteAllText(Path.Combine(FuseMnt, "ctl"), $"w {offset} {length}");
    public void Clear() => File.WriteAllText(Path.Combine(FuseMnt, "ctl"), "clear");
    public string Counters() => File.ReadAllText(Path.Combine(FuseMnt, "ctl")).Trim();

    public static void DropCaches()
    {
        Ext4Loop.Run("sync");
        File.WriteAllText("/proc/sys/vm/drop_caches", "3");
    }

    public void Dispose()
    {
        try { Clear(); } catch (IOException) { }
        for (int i = 0; i < 20 && Ext4Loop.Run("umount", Mnt).Exit != 0 && IsMounted(Mnt); i++) Thread.Sleep(100);
        if (IsMounted(Mnt)) Ext4Loop.Run("umount", "-l", Mnt); // test cleanup only
        if (Device.Length > 0) Ext4Loop.Run("losetup", "-d", Device);
        if (_fuseMounted && Ext4Loop.Run("umount", FuseMnt).Exit != 0) Ext4Loop.Run("umount", "-l", FuseMnt);
        if (_daemon is not null)
        {
            if (!_daemon.WaitForExit(3000)) { try { _daemon.Kill(); } catch (InvalidOperationException) { } _daemon.WaitForExit(3000); }
            _daemon.Dispose();
        }
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static bool IsMounted(string p) => File.ReadAllText("/proc/self/mountinfo").Split('\n').Any(l => l.Split(' ') is { Length: > 4 } f && f[4] == p);
}

[Collection("ext4-kernel")]
public class FaultyDeviceKernelTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    [Fact]
    public void InodeTableReadEio_GivesEioEvent_WithInodeAndGenerationZero()
    {
        FaultyExt4.SkipUnlessPossible();
        using var fs = new FaultyExt4();
        var (off, len, ino) = fs.InodeTableBlock("d1/f7");
        using var h = new WatchHarness(true, fs.Mnt);
        fs.FailReads(off, len);
        FaultyExt4.DropCaches();
        var t0 = DateTimeOffset.UtcNow;
        var (exit, output) = Ext4Loop.Run("stat", Path.Combine(fs.Mnt, "d1", "f7"));
        Assert.NotEqual(0, exit);
        Assert.Contains("Input/output error", output);
        var r = h.Next(x => x.Event.Kind == FsErrorKind.Error, TimeSpan.FromSeconds(5));
        Out($"itable EIO (inode {ino}, bytes {off}+{len}) -> {(r.ReceivedAt - t0).TotalMilliseconds:0.0} ms: {r}; faultyfs: {fs.Counters()}");
        Assert.Equal(5, r.Event.Error);
        Assert.Equal(0u, r.Event.Generation);
        Assert.Null(r.Path); // generation 0: never resolved (it would re-read the failing block)
        var st = Ext4SysfsReader.Read(fs.DevName);
        Assert.Equal(1UL, st.ErrorsCount);
        Assert.Equal("EIO", st.LastError!.ErrCodeName);
        Assert.Equal(ino, (uint)st.LastError.Inode);
        Assert.Equal(ino, r.Event.Inode);
    }

    [Fact]
    public void JournalWriteEio_GoesEmergencyRo_AndPlannerSeesIt()
    {
        FaultyExt4.SkipUnlessPossible();
        using var fs = new FaultyExt4();
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
        var m = Ext4SysfsReader.FindMount(fs.Mnt)!;
        Out($"mount options: {m.Options}");
        Assert.True(m.Options.EmergencyReadOnly, $"expected emergency_ro in {m.Options}");
        Assert.NotEmpty(events);
        Assert.Contains(events, e => e.Event.FilesystemWide && e.Event.Error is 5 or 30 or 117);
        var plan = Ext4HealPlanner.Plan(new Ext4HealInput { MountPoint = fs.Mnt, Device = fs.Device, Options = m.Options, Policy = Ext4HealPolicy.Report });
        Assert.Equal(Ext4PlanDecision.Report, plan.Decision);
        Assert.Contains(plan.Reasons, x => x.Contains("emergency_ro"));
    }
}

using FsHealer.Cli.Commands;
using FsHealer.Mounts.Live;
using FsHealer.Btrfs.Live;
using FsHealer.Devices.Live;
using FsHealer.Ext4.Live;
using FsHealer.Healing.Live;
using FsHealer.Media.Live;
using FsHealer.Xfs.Live;
using FsHealer.Devices;
using FsHealer.Model;
using FsHealer.Mounts;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Interop;

namespace FsHealer.Kernel.Tests.Devices;

/// <summary>The block-device topology of real loop-mounted filesystems, read from the real /sys.</summary>
public sealed class BlockTopologyKernelTests
{
    private static readonly SysfsDirectory Sys = new();

    private static string DevOf(string path)
    {
        Assert.Equal(0, Statx.Get(path, out var st));
        return st.Dev;
    }

    /// <summary>The name sysfs gives the device holding <paramref name="file"/> (e.g. vda for /tmp here).</summary>
    private static string? HostDeviceName(string file)
    {
        var canon = Sys.Canonical($"dev/block/{DevOf(file)}");
        return canon is null ? null : Path.GetFileName(canon);
    }

    private static void Log(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    [Fact]
    public void Ext4OnLoop_LoopDeviceBackingFileAndHostDevice()
    {
        using var s = ScratchFs.Create("ext4", 64, tag: "devtopo");
        var notes = new List<string>();
        string dev = DevOf(s.Mnt);
        var spec = FsDeviceSpecs.For(s.Mnt, "ext4", dev, notes);
        var roots = spec.Resolve(Sys, notes);
        Log(string.Join("; ", roots.Select(r => r.Describe())) + " | notes: " + string.Join("; ", notes));
        var loop = Assert.Single(roots);
        Assert.Equal((s.DevName, BlockKind.Loop, dev), (loop.Name, loop.Kind, loop.Dev));
        Assert.Equal(Realpath.Resolve(s.Image, out _), loop.BackingFile);
        Assert.False(loop.BackingDeleted);
        string? host = HostDeviceName(s.Image);
        if (host is null) Assert.Equal($"backing file on {DevOf(s.Image)} (no block device)", loop.Note);
        else
        {
            var h = Assert.Single(loop.Below);
            Assert.Equal((host, BlockRelation.BackingStore), (h.Name, h.Relation));
        }
        var sample = DeviceHealth.Sample(Sys, loop);
        Assert.NotNull(sample.Stat);

        // fshealer devices PATH
        var o = new StringWriter();
        var e = new StringWriter();
        Assert.Equal(0, DevicesCommand.Run([s.Mnt], "/sys", o, e));
        Log(o.ToString());
        Assert.Contains($"{s.Mnt}: {s.DevName} (loop, file {loop.BackingFile})", o.ToString());
        Assert.Contains($"  {s.DevName} (loop, {dev}, filesystem device): file {loop.BackingFile}, ", o.ToString());

        // the daemon hook: a problem event on this filesystem gets a follow-up naming the devices
        var hub = new EventHub();
        var got = new List<FsEvent>();
        hub.Add(new Sink(got));
        var now = DateTimeOffset.UtcNow;
        var w = new DeviceHealthWatcher(hub, Sys, clock: () => now);
        var target = new MountTarget { DevKey = 1, Dev = dev, FsType = "ext4", Source = s.Loop, PreferredMountId = 1, PreferredPath = s.Mnt, Mounts = [(1UL, s.Mnt)] };
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Assert.StartsWith($"{s.DevName} (loop, file ", w.Attach(target));
        Log($"attach (resolve + baseline): {sw.Elapsed.TotalMilliseconds:0.00} ms");
        sw.Restart();
        w.Tick();
        Log($"first poll tick (sample every device): {sw.Elapsed.TotalMilliseconds:0.00} ms");
        var ticks = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 100; i++) { now = now.AddSeconds(10); w.Tick(); }
        Log($"steady poll tick (2 devices): {ticks.Elapsed.TotalMilliseconds / 100:0.000} ms each");
        Assert.DoesNotContain(got, x => x.Class == EventClass.CounterRise); // loop/virtio expose no error counters
        hub.Publish(new FsEvent { Class = EventClass.MetadataCorrupt, Severity = Severity.Error, Mount = s.Mnt, FsType = "ext4", Message = $"{s.Mnt}: corrupt" });
        w.Tick();
        var d = Assert.Single(got, x => x.Class == EventClass.Diagnostic);
        Log(d.Message);
        Assert.StartsWith(host is null ? $"{s.Mnt}: on {s.DevName} (loop" : $"{s.Mnt}: on {host} (", d.Message);
        if (host is not null) Assert.Contains($" via {s.DevName} (file {loop.BackingFile})", d.Message);

        // fshealer status names the devices too
        var st = new StringWriter();
        StatusCommand.Run(false, Path.Combine(s.Dir, "state"), null, s.Mnt, st, new StringWriter());
        Log(st.ToString());
        Assert.Contains($"    devices: {s.DevName} (loop, file {loop.BackingFile})", st.ToString());
    }

    private sealed class Sink(List<FsEvent> list) : IEventSink
    {
        public void Publish(FsEvent e) => list.Add(e);
    }

    [Fact]
    public void BtrfsOnTwoLoops_BothDevicesFound()
    {
        if (!File.ReadAllText("/proc/filesystems").Contains("btrfs", StringComparison.Ordinal)) Sh.Run("modprobe", "btrfs");
        if (!File.ReadAllText("/proc/filesystems").Contains("btrfs", StringComparison.Ordinal)) Assert.Skip("kernel has no btrfs");
        using var s = ScratchFs.Create("btrfs", 160, devices: 2, mkfsArgs: ["-d", "raid1", "-m", "raid1"], tag: "devtopo");
        string dev = DevOf(s.Mnt);
        Assert.StartsWith("0:", dev); // btrfs: anonymous st_dev, no block device behind it
        var notes = new List<string>();
        var spec = FsDeviceSpecs.For(s.Mnt, "btrfs", dev, notes);
        Assert.NotNull(spec.BtrfsFsid);
        var roots = spec.Resolve(Sys, notes);
        Log(string.Join("; ", roots.Select(r => r.Describe())) + " | notes: " + string.Join("; ", notes));
        Assert.Equal(s.Loops.Select(Path.GetFileName).Order(), roots.Select(r => r.Name).Order());
        Assert.All(roots, r => Assert.Equal(BlockKind.Loop, r.Kind));
        Assert.Equal(s.Images.Select(i => Realpath.Resolve(i, out _)).Order(), roots.Select(r => r.BackingFile).Order());

        var o = new StringWriter();
        Assert.Equal(0, DevicesCommand.Run([s.Mnt], "/sys", o, new StringWriter()));
        Log(o.ToString());
        foreach (var l in s.Loops) Assert.Contains(Path.GetFileName(l) + " (loop, ", o.ToString());
    }

    /// <summary>A DOS partition table: type 0x83 entries (LBA start, sector count) and the 0x55AA signature.</summary>
    private static void WriteMbr(string img, params (uint Start, uint Sectors)[] parts)
    {
        var mbr = new byte[512];
        for (int i = 0; i < parts.Length; i++)
        {
            var e = mbr.AsSpan(446 + 16 * i, 16);
            e[4] = 0x83;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(e[8..], parts[i].Start);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(e[12..], parts[i].Sectors);
        }
        mbr[510] = 0x55;
        mbr[511] = 0xAA;
        using var f = new FileStream(img, FileMode.Open, FileAccess.Write);
        f.Write(mbr);
    }

    [Fact]
    public void PartitionedLoop_PartitionResolvesToItsLoopParent()
    {
        ScratchFs.Require("ext4");
        using var s = new ScratchFs("devtopo");
        string img = s.NewImage("parted.img", 64);
        WriteMbr(img, (2048, 32768), (34816, 131072 - 34816)); // sfdisk/fdisk are not installed here: a DOS label by hand
        string loop = Sh.Check("losetup", "-f", "--show", "-P", img).Trim();
        string backing = Realpath.Resolve(img, out _)!;
        s.Defer($"losetup -d {loop}", () =>
        {
            if (ScratchFs.LoopsBackedUnder(s.Dir).Contains(loop)) Sh.Run("losetup", "-d", loop);
        });
        string name = Path.GetFileName(loop);
        string part = $"/sys/block/{name}/{name}p2/dev";
        for (int i = 0; i < 10 && !File.Exists(part); i++) Thread.Sleep(100);
        // this VM's kernel has no partition table parsers (CONFIG_MSDOS_PARTITION unset): add it with BLKPG
        if (!File.Exists(part) && Sh.Has("addpart")) Sh.Check("addpart", loop, "2", "34816", "96256");
        if (!File.Exists(part)) Assert.Skip($"{loop}: no partitions after losetup -P (and addpart)");
        string pdev = File.ReadAllText(part).Trim();
        for (int i = 0; i < 50 && !File.Exists($"{loop}p2"); i++) Thread.Sleep(100);
        Sh.Check("mkfs.ext4", "-q", "-F", $"{loop}p2");
        s.Mount($"{loop}p2", s.Mnt);
        Assert.Equal(pdev, DevOf(s.Mnt));

        var notes = new List<string>();
        var roots = FsDeviceSpecs.For(s.Mnt, "ext4", pdev, notes).Resolve(Sys, notes);
        Log(string.Join("; ", roots.Select(r => r.Describe())) + " | notes: " + string.Join("; ", notes));
        var p = Assert.Single(roots);
        Assert.Equal(($"{name}p2", BlockKind.Partition, pdev), (p.Name, p.Kind, p.Dev));
        var parent = Assert.Single(p.Below);
        Assert.Equal((name, BlockKind.Loop, BlockRelation.WholeDisk, backing), (parent.Name, parent.Kind, parent.Relation, parent.BackingFile));
        Assert.Equal(HostDeviceName(img), parent.Below.SingleOrDefault()?.Name);
    }
}

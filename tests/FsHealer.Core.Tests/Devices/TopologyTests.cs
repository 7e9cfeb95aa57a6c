using FsHealer.Devices;

namespace FsHealer.Core.Tests.Devices;

public sealed class TopologyTests : IDisposable
{
    private readonly FakeSysfs _fs = new();
    public void Dispose() => _fs.Dispose();

    private BlockNode Resolve(string dev, List<string>? notes = null)
    {
        notes ??= [];
        var n = TopologyResolver.ResolveDev(_fs.View(), dev, notes);
        Assert.True(n is not null, string.Join("; ", notes));
        return n;
    }

    [Fact]
    public void Partition_ResolvesToItsWholeDisk()
    {
        var sdb = _fs.Disk("sdb", "8:16");
        _fs.Partition(sdb, "sdb1", "8:17");
        var n = Resolve("8:17");
        Assert.Equal(("sdb1", BlockKind.Partition, "8:17"), (n.Name, n.Kind, n.Dev));
        var disk = Assert.Single(n.Below);
        Assert.Equal(("sdb", BlockKind.Scsi, BlockRelation.WholeDisk), (disk.Name, disk.Kind, disk.Relation));
        Assert.Equal(sdb, disk.SysPath);
        Assert.Equal(["sdb"], n.Leaves().Select(l => l.Name));
        Assert.Equal("sdb1 (partition) <- sdb (scsi)", n.Describe());
    }

    [Fact]
    public void DeviceMapper_OverTwoDisks_FindsBothMembers()
    {
        var sdb = _fs.Disk("sdb", "8:16", FakeSysfs.Scsi(1));
        var sdc = _fs.Disk("sdc", "8:32", FakeSysfs.Scsi(2));
        var dm = _fs.Virtual("dm-0", "253:0");
        _fs.Write($"{dm}/dm/name", "vg-data\n");
        _fs.Write($"{dm}/dm/suspended", "0\n");
        _fs.Slave(dm, sdb);
        _fs.Slave(dm, sdc);
        var n = Resolve("253:0");
        Assert.Equal(BlockKind.DeviceMapper, n.Kind);
        Assert.Equal(["sdb", "sdc"], n.Below.Select(b => b.Name));
        Assert.All(n.Below, b => Assert.Equal(BlockRelation.Member, b.Relation));
        var s = DeviceHealth.Sample(_fs.View(), n);
        Assert.Equal("vg-data", s.States["dm_name"]);
        Assert.Empty(DeviceHealth.Problems(s));
        _fs.Write($"{dm}/dm/suspended", "1\n");
        Assert.Equal("dm-0 suspended 1", Assert.Single(DeviceHealth.Problems(DeviceHealth.Sample(_fs.View(), n))).ToString());
    }

    [Fact]
    public void TwoMembersOnOneDisk_TheDiskIsShownOnce()
    {
        var sdb = _fs.Disk("sdb", "8:16");
        var dm = _fs.Virtual("dm-0", "253:0");
        _fs.Write($"{dm}/dm/name", "vg-lv\n");
        _fs.Slave(dm, _fs.Partition(sdb, "sdb1", "8:17"));
        _fs.Slave(dm, _fs.Partition(sdb, "sdb2", "8:18"));
        var n = Resolve("253:0");
        Assert.Equal("dm-0 (dm) <- [sdb1 (partition) <- sdb (scsi), sdb2 (partition) <- sdb (scsi, shown above)]", n.Describe());
        Assert.Equal(["sdb"], n.Leaves().Select(l => l.Name));
        Assert.Equal(4, n.All().Count());
    }

    [Fact]
    public void Nvme_ControllerState_DirectAndMultipath()
    {
        // single path: nvme0n1/device is the controller nvme0
        var ns = _fs.Disk("nvme0n1", "259:0", "devices/pci0000:00/0000:00:04.0/nvme/nvme0", scsi: false);
        _fs.Write("devices/pci0000:00/0000:00:04.0/nvme/nvme0/state", "live\n");
        _fs.Link($"{ns}/device", "devices/pci0000:00/0000:00:04.0/nvme/nvme0");
        var n = Resolve("259:0");
        Assert.Equal(BlockKind.Nvme, n.Kind);
        var s = DeviceHealth.Sample(_fs.View(), n);
        Assert.Equal("live", s.States["state"]);
        Assert.Empty(DeviceHealth.Problems(s));
        _fs.Write("devices/pci0000:00/0000:00:04.0/nvme/nvme0/state", "resetting\n");
        Assert.Equal("nvme0n1 state resetting", Assert.Single(DeviceHealth.Problems(DeviceHealth.Sample(_fs.View(), n))).ToString());

        // native multipath: nvme1n1/device is the subsystem, which links its controllers
        var head = _fs.Disk("nvme1n1", "259:1", "devices/virtual/nvme-subsystem/nvme-subsys1", scsi: false);
        _fs.Write("devices/pci0000:00/0000:00:05.0/nvme/nvme1/state", "live\n");
        _fs.Write("devices/pci0000:00/0000:00:06.0/nvme/nvme2/state", "connecting\n");
        _fs.Link("devices/virtual/nvme-subsystem/nvme-subsys1/nvme1", "devices/pci0000:00/0000:00:05.0/nvme/nvme1");
        _fs.Link("devices/virtual/nvme-subsystem/nvme-subsys1/nvme2", "devices/pci0000:00/0000:00:06.0/nvme/nvme2");
        _fs.Write("devices/virtual/nvme-subsystem/nvme-subsys1/subsysnqn", "nqn.x\n");
        _fs.Link($"{head}/device", "devices/virtual/nvme-subsystem/nvme-subsys1");
        var h = DeviceHealth.Sample(_fs.View(), Resolve("259:1"));
        Assert.Equal("connecting(nvme2)", h.States["state"]);
        _fs.Write("devices/pci0000:00/0000:00:06.0/nvme/nvme2/state", "live\n");
        Assert.Equal("live", DeviceHealth.Sample(_fs.View(), Resolve("259:1")).States["state"]);
    }

    [Fact]
    public void MdRaid1_OverPartitions_Degraded()
    {
        var sdb = _fs.Disk("sdb", "8:16", FakeSysfs.Scsi(1));
        var sdc = _fs.Disk("sdc", "8:32", FakeSysfs.Scsi(2));
        var sdb1 = _fs.Partition(sdb, "sdb1", "8:17");
        var sdc1 = _fs.Partition(sdc, "sdc1", "8:33");
        var md = _fs.Virtual("md0", "9:0");
        _fs.Write($"{md}/md/level", "raid1\n");
        _fs.Write($"{md}/md/degraded", "1\n");
        _fs.Write($"{md}/md/sync_action", "idle\n");
        _fs.Write($"{md}/md/mismatch_cnt", "0\n");
        _fs.Write($"{md}/md/array_state", "clean\n");
        _fs.Slave(md, sdb1);
        _fs.Slave(md, sdc1);
        // partition of the array: md0p1 -> md0 -> [sdb1 -> sdb, sdc1 -> sdc]
        _fs.Partition(md, "md0p1", "259:0");
        var n = Resolve("259:0");
        Assert.Equal("md0p1 (partition) <- md0 (md) <- [sdb1 (partition) <- sdb (scsi), sdc1 (partition) <- sdc (scsi)]", n.Describe());
        Assert.Equal(["sdb", "sdc"], n.Leaves().Select(l => l.Name));
        var mdNode = n.Below[0];
        var s = DeviceHealth.Sample(_fs.View(), mdNode);
        Assert.Equal(1UL, s.Counters["degraded"]);
        Assert.Equal("md0 degraded 1", Assert.Single(DeviceHealth.Problems(s)).ToString());
    }

    [Fact]
    public void Loop_OverFile_FollowsOneLevelToTheHostDevice()
    {
        var vda = _fs.Disk("vda", "254:0", "devices/pci0000:00/0000:00:02.0/virtio1/block", scsi: false);
        var loop = _fs.Virtual("loop3", "7:3");
        _fs.Write($"{loop}/loop/backing_file", "/var/img/disk.img\n");
        _fs.FileDevices["/var/img/disk.img"] = "254:0";
        var n = Resolve("7:3");
        Assert.Equal(("loop3", BlockKind.Loop, "/var/img/disk.img"), (n.Name, n.Kind, n.BackingFile));
        var host = Assert.Single(n.Below);
        Assert.Equal(("vda", BlockKind.Virtio, BlockRelation.BackingStore, vda), (host.Name, host.Kind, host.Relation, host.SysPath));
        Assert.Equal("loop3 (loop, file /var/img/disk.img) <- vda (virtio)", n.Describe());
    }

    [Fact]
    public void Loop_FollowsOnlyOneLevel_AndNotesUnreachableOrDeletedBackingFiles()
    {
        // loop4's file lives on loop3, whose file lives on vda: from loop4, only loop3 is followed
        _fs.Disk("vda", "254:0", "devices/virtio1/block", scsi: false);
        var l3 = _fs.Virtual("loop3", "7:3");
        _fs.Write($"{l3}/loop/backing_file", "/a.img\n");
        var l4 = _fs.Virtual("loop4", "7:4");
        _fs.Write($"{l4}/loop/backing_file", "/mnt/b.img\n");
        _fs.FileDevices["/a.img"] = "254:0";
        _fs.FileDevices["/mnt/b.img"] = "7:3";
        var n = Resolve("7:4");
        Assert.Equal("loop4 (loop, file /mnt/b.img) <- loop3 (loop, file /a.img)", n.Describe());

        var l5 = _fs.Virtual("loop5", "7:5");
        _fs.Write($"{l5}/loop/backing_file", "/gone.img (deleted)\n");
        var d = Resolve("7:5");
        Assert.True(d.BackingDeleted);
        Assert.Empty(d.Below);

        var l6 = _fs.Virtual("loop6", "7:6");
        _fs.Write($"{l6}/loop/backing_file", "/on/tmpfs.img\n");
        _fs.FileDevices["/on/tmpfs.img"] = "0:45";
        Assert.Equal("backing file on 0:45 (no block device)", Resolve("7:6").Note);
        var l7 = _fs.Virtual("loop7", "7:7");
        _fs.Write($"{l7}/loop/backing_file", "/unknown.img\n");
        Assert.Equal("backing file not reachable", Resolve("7:7").Note);
    }

    [Fact]
    public void PartitionedLoop_PartitionToParentToBackingDevice()
    {
        _fs.Disk("vda", "254:0", "devices/virtio1/block", scsi: false);
        var loop = _fs.Virtual("loop9", "7:9");
        _fs.Write($"{loop}/loop/backing_file", "/p.img\n");
        _fs.FileDevices["/p.img"] = "254:0";
        _fs.Partition(loop, "loop9p2", "259:7");
        Assert.Equal("loop9p2 (partition) <- loop9 (loop, file /p.img) <- vda (virtio)", Resolve("259:7").Describe());
    }

    [Fact]
    public void Cycles_EndWithANote_AndNothingLoops()
    {
        var a = _fs.Virtual("dm-0", "253:0");
        var b = _fs.Virtual("dm-1", "253:1");
        _fs.Write($"{a}/dm/name", "a\n");
        _fs.Write($"{b}/dm/name", "b\n");
        _fs.Slave(a, b);
        _fs.Slave(b, a);
        var self = _fs.Virtual("dm-2", "253:2");
        _fs.Slave(self, self);
        var n = Resolve("253:0");
        Assert.Equal("dm-0 (dm) <- dm-1 (dm) <- dm-0 (dm, cycle)", n.Describe());
        Assert.Equal("dm-2 (dm) <- dm-2 (dm, cycle)", Resolve("253:2").Describe());
        Assert.Equal(2, n.All().Count());
    }

    [Fact]
    public void MissingFilesAndGarbage_AreNotesNeverExceptions()
    {
        var notes = new List<string>();
        var v = _fs.View();
        Assert.Null(TopologyResolver.ResolveDev(v, "0:45", notes));
        Assert.Contains("not found in sysfs", notes[^1]);
        Assert.Null(TopologyResolver.ResolveDev(v, "garbage", notes));
        Assert.Null(TopologyResolver.ResolveName(v, "../../etc", notes));

        // a dm whose slaves are a dangling link, a plain file and a directory without dev
        var dm = _fs.Virtual("dm-3", "253:3");
        _fs.Write($"{dm}/dm/name", "x\n");
        Directory.CreateDirectory(_fs.Abs($"{dm}/slaves"));
        File.CreateSymbolicLink(_fs.Abs($"{dm}/slaves/sdz"), "../../nowhere/sdz");
        _fs.Write($"{dm}/slaves/junk", "garbage");
        _fs.Write("devices/nodev/block/sdy/size", "1\n");
        _fs.Link($"{dm}/slaves/sdy", "devices/nodev/block/sdy");
        notes.Clear();
        var n = TopologyResolver.ResolveDev(v, "253:3", notes);
        Assert.NotNull(n);
        Assert.Empty(n.Below);
        Assert.Equal(3, notes.Count(x => x.StartsWith("dm-3: member", StringComparison.Ordinal)));

        // garbage dev file: not a block device
        var g = _fs.Virtual("sdx", "8:99");
        _fs.Write($"{g}/dev", "\u0001\u0002garbage");
        notes.Clear();
        Assert.Null(TopologyResolver.ResolveDev(v, "8:99", notes));
        Assert.Contains("not a block device", notes[^1]);

        // garbage in the health files: absent values, no exception
        var sdw = _fs.Disk("sdw", "8:112", FakeSysfs.Scsi(7));
        var dev = FakeSysfs.ScsiDeviceOf(sdw);
        _fs.Write($"{dev}/ioerr_cnt", "0xzz\n");
        _fs.Write($"{dev}/state", "\u0000\u0000");
        _fs.Write($"{sdw}/stat", "nonsense");
        var s = DeviceHealth.Sample(v, Resolve("8:112"));
        Assert.False(s.Counters.ContainsKey("ioerr_cnt"));
        Assert.False(s.States.ContainsKey("state"));
        Assert.Null(s.Stat);
        Assert.Equal(31UL, s.Counters["iodone_cnt"]);

        // a link that escapes the root is not followed
        File.CreateSymbolicLink(_fs.Abs("dev/block/1:1"), "/sys/dev/block/254:0");
        notes.Clear();
        Assert.Null(TopologyResolver.ResolveDev(v, "1:1", notes));
    }

    [Fact]
    public void Btrfs_TwoDevices_AreBothFound()
    {
        var sdb = _fs.Disk("sdb", "8:16", FakeSysfs.Scsi(1));
        var sdc = _fs.Disk("sdc", "8:32", FakeSysfs.Scsi(2));
        const string fsid = "0f5c0f3a-6c1e-4a53-9f0e-2b8e3c7d1a22";
        _fs.Link($"fs/btrfs/{fsid}/devices/sdb", sdb);
        _fs.Link($"fs/btrfs/{fsid}/devices/sdc", sdc);
        var notes = new List<string>();
        var roots = new FsDeviceSpec(["0:52"], fsid).Resolve(_fs.View(), notes);
        Assert.Equal(["sdb", "sdc"], roots.Select(r => r.Name));
        // sysfs lists nothing: the DEV_INFO names are used
        roots = new FsDeviceSpec([], "11111111-2222-3333-4444-555555555555", ["sdc"]).Resolve(_fs.View(), notes);
        Assert.Equal(["sdc"], roots.Select(r => r.Name));
    }

    [Fact]
    public void DeepStack_StopsAtTheDepthLimit()
    {
        string prev = _fs.Disk("sda", "8:0", FakeSysfs.Scsi(0));
        for (int i = 0; i < TopologyResolver.MaxDepth + 4; i++)
        {
            var dm = _fs.Virtual($"dm-{i}", $"253:{i}");
            _fs.Write($"{dm}/dm/name", $"l{i}\n");
            _fs.Slave(dm, prev);
            prev = dm;
        }
        var n = Resolve($"253:{TopologyResolver.MaxDepth + 3}");
        Assert.Contains(n.All(), x => x.Note == "depth limit");
        Assert.Equal(TopologyResolver.MaxDepth + 1, n.All().Count());
    }
}

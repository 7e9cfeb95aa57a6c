using FsHealer.Kmsg;

namespace FsHealer.Core.Tests.Kmsg;

public class BtrfsKernelLogTests
{
    // Lines a Linux 6.18 kernel printed on the test machine (one-mirror damage of raid1/DUP btrfs, bench/corpus).
    private const string DataCsum = "BTRFS warning (device loop0): csum failed root 5 ino 257 off 8192 csum 0xb57e503f expected csum 0x1a928949 mirror 1";
    private const string DevErrs = "BTRFS error (device loop0): bdev /dev/loop0 errs: wr 0, rd 0, flush 0, corrupt 1, gen 0";
    private const string DataCorrected = "BTRFS info (device loop0): read error corrected: ino 257 off 8192 (dev /dev/loop0 sector 172176)";
    private const string MetaCsum = "BTRFS warning (device loop0): checksum verify failed on logical 30752768 mirror 1 wanted 0x2f218126 found 0xd42360d8 level 0";
    private const string MetaCorrected = "BTRFS info (device loop0): read error corrected: ino 0 off 30752768 (dev /dev/loop0 sector 76448)";
    private const string ScrubUnfixable = "BTRFS error (device loop0): scrub: unable to fixup (regular) error at logical 13631488 on dev /dev/loop0 physical 13631488";
    private const string ScrubCsum = "BTRFS warning (device loop0): scrub: checksum error at logical 13631488 on dev /dev/loop0, physical 13631488 root 5 inode 308 offset 0 length 4096 links 1 (path: victim)";
    private const string ScrubSuper = "BTRFS error (device loop0): scrub: super block at physical 67108864 devid 1 has bad csum";
    private const string Transid = "BTRFS error (device loop7): parent transid verify failed on logical 29360128 mirror 1 wanted 9 found 755944791";

    [Fact]
    public void DataChecksumFailure_CarriesRootInodeOffsetMirrorAndBothChecksums()
    {
        var e = BtrfsKernelLog.Decode(DataCsum)!;
        Assert.Equal((BtrfsLogKind.DataChecksumFailed, BtrfsLogOutcome.Damage, "loop0"), (e.Kind, e.Outcome, e.Device));
        Assert.Equal((5L, 257UL, 8192UL, 1), (e.Root!.Value, e.Inode!.Value, e.FileOffset!.Value, e.Mirror!.Value));
        Assert.Equal(("0x1a928949", "0xb57e503f"), (e.Wanted, e.Found));
        Assert.False(e.IsMetadata);
        Assert.Null(e.Logical);
    }

    [Fact]
    public void DataChecksumFailure_OfTheDataRelocationTree_HasALogicalAddress()
    {
        var e = BtrfsKernelLog.Decode("BTRFS warning (device sdb): csum failed root -9 ino 257 off 4096 logical 13635584 csum 0x00000000 expected csum 0x98757625 mirror 2")!;
        Assert.Equal((BtrfsLogKind.DataChecksumFailed, -9L, 13635584UL, 2), (e.Kind, e.Root!.Value, e.Logical!.Value, e.Mirror!.Value));
    }

    [Fact]
    public void MetadataChecksumFailure_IsMetadata_WithLogicalMirrorAndLevel()
    {
        var e = BtrfsKernelLog.Decode(MetaCsum)!;
        Assert.Equal((BtrfsLogKind.MetadataChecksumFailed, 30752768UL, 1, 0), (e.Kind, e.Logical!.Value, e.Mirror!.Value, e.Level!.Value));
        Assert.Equal(("0x2f218126", "0xd42360d8"), (e.Wanted, e.Found));
        Assert.True(e.IsMetadata);
        // a 32-byte checksum (blake2b/sha256) and the ", ignored" suffix of rescue=ignoremetacsums
        var b = BtrfsKernelLog.Decode("BTRFS warning (device loop0): checksum verify failed on logical 5312512 mirror 1 wanted 0xb043382657aede36608fd3386d6b001692ff406164733d94e2d9a180412c6003 found 0x810ceb2bacb7f0f9eb2bf3b2b15c02af867cb35ad450898169f3b1f0bd818651 level 0, ignored")!;
        Assert.Equal((5312512UL, 64 + 2), (b.Logical!.Value, b.Wanted!.Length));
    }

    [Fact]
    public void ReadErrorCorrected_IsACorrection_AndInodeZeroMeansMetadata()
    {
        var d = BtrfsKernelLog.Decode(DataCorrected)!;
        Assert.Equal((BtrfsLogKind.ReadErrorCorrected, BtrfsLogOutcome.Corrected), (d.Kind, d.Outcome));
        Assert.Equal((257UL, 8192UL, "/dev/loop0", 172176UL), (d.Inode!.Value, d.FileOffset!.Value, d.MemberDevice, d.Sector!.Value));
        Assert.False(d.IsMetadata);
        var m = BtrfsKernelLog.Decode(MetaCorrected)!;
        Assert.Equal((BtrfsLogKind.ReadErrorCorrected, 0UL, 30752768UL), (m.Kind, m.Inode!.Value, m.FileOffset!.Value));
        Assert.True(m.IsMetadata); // the silent metadata read-repair: device stats do not move (issue 17, defect 3)
    }

    [Fact]
    public void DeviceErrorCounters_AreAllFive()
    {
        var e = BtrfsKernelLog.Decode(DevErrs)!;
        Assert.Equal((BtrfsLogKind.DeviceErrorCounters, BtrfsLogOutcome.Counters, "/dev/loop0"), (e.Kind, e.Outcome, e.MemberDevice));
        Assert.Equal(new BtrfsDeviceErrors(0, 0, 0, 1, 0), e.Counters);
        var big = BtrfsKernelLog.Decode("BTRFS error (device nvme0n1p2): bdev /dev/nvme0n1p2 errs: wr 4294967296, rd 7, flush 2, corrupt 25, gen 3")!;
        Assert.Equal(new BtrfsDeviceErrors(4294967296, 7, 2, 25, 3), big.Counters);
    }

    [Theory]
    // 6.18 (this machine): "scrub: " prefix and the physical address
    [InlineData(ScrubUnfixable, "loop0", "/dev/loop0", 13631488UL, 13631488UL)]
    // 6.4–6.8 (linux-btrfs list): no prefix, with physical
    [InlineData("BTRFS error (device dm-2): unable to fixup (regular) error at logical 13631488 on dev /dev/mapper/test-scratch1 physical 13631488", "dm-2", "/dev/mapper/test-scratch1", 13631488UL, 13631488UL)]
    // before 6.4: no physical
    [InlineData("BTRFS error (device dm-3): unable to fixup (regular) error at logical 36997591040 on dev /dev/mapper/nvme-home", "dm-3", "/dev/mapper/nvme-home", 36997591040UL, null)]
    public void ScrubUnableToFixup_AllWordings(string line, string dev, string member, ulong logical, ulong? physical)
    {
        var e = BtrfsKernelLog.Decode(line)!;
        Assert.Equal((BtrfsLogKind.ScrubUnableToFixup, BtrfsLogOutcome.Uncorrectable), (e.Kind, e.Outcome));
        Assert.Equal((dev, member, logical, physical), (e.Device, e.MemberDevice, e.Logical!.Value, e.Physical));
    }

    [Fact]
    public void ScrubFixedUp_IsACorrection()
    {
        var e = BtrfsKernelLog.Decode("BTRFS info (device loop5): scrub: fixed up error at logical 88211456 on dev /dev/loop5 physical 67239936")!;
        Assert.Equal((BtrfsLogKind.ScrubFixedUp, BtrfsLogOutcome.Corrected, "/dev/loop5", 88211456UL, 67239936UL),
            (e.Kind, e.Outcome, e.MemberDevice, e.Logical!.Value, e.Physical!.Value));
        var old = BtrfsKernelLog.Decode("BTRFS error (device sda): fixed up error at logical 123 on mirror 2")!;
        Assert.Equal((BtrfsLogKind.ScrubFixedUp, 2, null), (old.Kind, old.Mirror!.Value, old.MemberDevice));
    }

    [Theory]
    [InlineData(ScrubCsum, 308UL, "victim")]
    // the pre-6.9 wording with commas, a long path
    [InlineData("BTRFS warning (device nvme0n1p2): checksum error at logical 253848715264 on dev /dev/nvme0n1p2, physical 21546885120, root 5, inode 8127262, offset 3928064, length 4096, links 1 (path: var/log/journal/user-1000.journal~)", 8127262UL, "var/log/journal/user-1000.journal~")]
    // the path could not be resolved
    [InlineData("BTRFS warning (device dm-3): checksum error at logical 36997591040 on dev /dev/mapper/nvme-home, physical 34850107392, root 1054, inode 2295743, offset 2718461952: path resolving failed with ret=-2", 2295743UL, null)]
    public void ScrubChecksumError_NamesTheFile(string line, ulong inode, string? path)
    {
        var e = BtrfsKernelLog.Decode(line)!;
        Assert.Equal((BtrfsLogKind.ScrubChecksumError, inode, path), (e.Kind, e.Inode!.Value, e.Path));
        Assert.NotNull(e.Physical);
    }

    [Fact]
    public void ParentTransidMismatch_NewAndOldWording()
    {
        var e = BtrfsKernelLog.Decode(Transid)!;
        Assert.Equal((BtrfsLogKind.ParentTransidMismatch, 29360128UL, 1, "9", "755944791"), (e.Kind, e.Logical!.Value, e.Mirror!.Value, e.Wanted, e.Found));
        var old = BtrfsKernelLog.Decode("BTRFS error (device sdc1): parent transid verify failed on 1104330178560 wanted 1353 found 1349")!;
        Assert.Equal((1104330178560UL, (int?)null), (old.Logical!.Value, old.Mirror));
        Assert.True(old.IsMetadata);
    }

    [Theory]
    [InlineData("BTRFS error (device loop1): bad tree block start, mirror 1 want 30752768 have 0", "loop1", BtrfsLogKind.MetadataBadBlock)]
    [InlineData("BTRFS error (device loop1): bad tree block level, mirror 2 level 9 on logical 30752768", "loop1", BtrfsLogKind.MetadataBadBlock)]
    [InlineData("BTRFS error (device loop1): level verify failed on logical 30752768 mirror 1 wanted 1 found 0", "loop1", BtrfsLogKind.MetadataBadBlock)]
    [InlineData("BTRFS error (device loop1): bad fsid on logical 30752768 mirror 1", "loop1", BtrfsLogKind.MetadataBadBlock)]
    [InlineData("BTRFS error (device loop1): read time tree block corruption detected on logical 30752768 mirror 2", "loop1", BtrfsLogKind.MetadataBadBlock)]
    [InlineData("BTRFS critical (device loop5): corrupt leaf: root=2 block=30752768 slot=0, unexpected item end, have 16283 expect 16283", "loop5", BtrfsLogKind.CorruptTreeItem)]
    public void TreeBlockDamage_IsMetadataAtALogicalAddress(string line, string dev, BtrfsLogKind kind)
    {
        var e = BtrfsKernelLog.Decode(line)!;
        Assert.Equal((kind, BtrfsLogOutcome.Damage, dev, 30752768UL), (e.Kind, e.Outcome, e.Device, e.Logical!.Value));
        Assert.True(e.IsMetadata);
    }

    [Fact]
    public void FatalStates_TransactionAbortAndForcedReadOnly_WithTheStateLetters()
    {
        var a = BtrfsKernelLog.Decode("BTRFS error (device dm-0: state A): Transaction aborted (error -5)")!;
        Assert.Equal((BtrfsLogKind.TransactionAborted, BtrfsLogOutcome.Fatal, "dm-0", "A", -5), (a.Kind, a.Outcome, a.Device, a.State, a.Errno!.Value));
        var h = BtrfsKernelLog.Decode("BTRFS: error (device dm-0: state A) in __btrfs_free_extent:3257: errno=-5 IO failure")!;
        Assert.Equal((BtrfsLogKind.FilesystemError, BtrfsLogOutcome.Fatal, "dm-0", -5), (h.Kind, h.Outcome, h.Device, h.Errno!.Value));
        // as Linux 6.18 printed them for btrfs-progs' 014-no-extent-info image: " state A" without a colon
        var h2 = BtrfsKernelLog.Decode("BTRFS: error (device loop7 state A) in __btrfs_free_extent:3227: errno=-117 Filesystem corrupted")!;
        Assert.Equal((BtrfsLogKind.FilesystemError, "loop7", "A", -117), (h2.Kind, h2.Device, h2.State, h2.Errno!.Value));
        var h3 = BtrfsKernelLog.Decode("BTRFS: error (device loop7) in btrfs_fill_super:994: errno=-2 No such entry")!;
        Assert.Equal((BtrfsLogKind.FilesystemError, "loop7", (string?)null, -2), (h3.Kind, h3.Device, h3.State, h3.Errno!.Value));
        var r618 = BtrfsKernelLog.Decode("BTRFS info (device loop7 state EA): forced readonly")!;
        Assert.Equal((BtrfsLogKind.ForcedReadOnly, "loop7", "EA"), (r618.Kind, r618.Device, r618.State));
        var r = BtrfsKernelLog.Decode("BTRFS info (device loop4: state EA): forced readonly")!;
        Assert.Equal((BtrfsLogKind.ForcedReadOnly, "loop4", "EA"), (r.Kind, r.Device, r.State));
        // the state suffix on an ordinary damage line does not change what it is
        var c = BtrfsKernelLog.Decode("BTRFS warning (device loop0: state EA): csum failed root 5 ino 257 off 0 csum 0x8941f998 expected csum 0x12345678 mirror 1")!;
        Assert.Equal((BtrfsLogKind.DataChecksumFailed, "loop0", "EA"), (c.Kind, c.Device, c.State));
    }

    [Theory]
    // tree-checker and read-time verification lines Linux 6.18 printed for btrfs-progs' fsck test images (bench/corpus)
    [InlineData("BTRFS critical (device loop7): corrupt leaf: root=5 block=29360128 slot=7 ino=257 file_offset=0, invalid disk_bytenr for file extent, have 755944791, should be aligned to 4096", BtrfsLogKind.CorruptTreeItem, 29360128UL)]
    [InlineData("BTRFS critical (device loop7): corrupt leaf: block=29376512 slot=3 extent bytenr=29360128 len=16384 invalid extent flag, have 0x0 expect 1 bit set in 0x3", BtrfsLogKind.CorruptTreeItem, 29376512UL)]
    [InlineData("BTRFS critical (device loop7): corrupt leaf: root=256 block=30408704 slot=4 ino=257, unknown mode bit detected: 0xf85f0000", BtrfsLogKind.CorruptTreeItem, 30408704UL)]
    [InlineData("BTRFS critical (device loop7): corrupt leaf: root=1 block=30556160 slot=3, invalid root generation, have 133 expect (0, 6]", BtrfsLogKind.CorruptTreeItem, 30556160UL)]
    [InlineData("BTRFS error (device loop7): read time tree block corruption detected on logical 29360128 mirror 1", BtrfsLogKind.MetadataBadBlock, 29360128UL)]
    [InlineData("BTRFS warning (device loop7): checksum verify failed on logical 30752768 mirror 1 wanted 0xd1649dff found 0x29c4c790 level 1", BtrfsLogKind.MetadataChecksumFailed, 30752768UL)]
    public void RealTreeDamageLines(string line, BtrfsLogKind kind, ulong logical)
    {
        var e = BtrfsKernelLog.Decode(line)!;
        Assert.Equal((kind, "loop7", logical, true), (e.Kind, e.Device, e.Logical!.Value, e.IsMetadata));
    }

    [Fact]
    public void ScrubSuperBlockErrors()
    {
        var e = BtrfsKernelLog.Decode(ScrubSuper)!;
        Assert.Equal((BtrfsLogKind.ScrubSuperBlockError, 67108864UL), (e.Kind, e.Physical!.Value));
        var g = BtrfsKernelLog.Decode("BTRFS error (device loop0): scrub: super block at physical 65536 devid 1 has bad generation 7 expect 9")!;
        Assert.Equal(("9", "7"), (g.Wanted, g.Found));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("BTRFS info (device loop0): scrub: started on devid 1")]
    [InlineData("BTRFS info (device loop0): first mount of filesystem 5975cb6a-6bd6-45e1-b296-8b9041ba8966")]
    [InlineData("BTRFS: device fsid 5975cb6a-6bd6-45e1-b296-8b9041ba8966 devid 1 transid 6 /dev/loop0 (7:0) scanned by mkfs.btrfs (14993)")]
    [InlineData("XFS (loop0): csum failed root 5 ino 257 off 8192 csum 0x1 expected csum 0x2 mirror 1")]
    [InlineData("BTRFS warning device loop0: csum failed root 5 ino 257 off 8192 csum 0x1 expected csum 0x2 mirror 1")]
    [InlineData("BTRFS warning (device loop0): csum failed root 5 ino 257 off 8192 csum zz expected csum 0x2 mirror 1")]
    [InlineData("BTRFS error (device loop0): bdev /dev/loop0 errs: wr 0, rd 0, flush 0, corrupt 99999999999999999999999, gen 0")]
    public void OtherLines_AreNotEvents(string? line) => Assert.Null(BtrfsKernelLog.Decode(line));

    [Fact]
    public void EveryRow_IsReachable_ByARealisticLine()
    {
        // each pattern row must decode at least one of the lines of this file, or it is dead data
        string[] lines =
        [
            DataCsum, DevErrs, DataCorrected, MetaCsum, MetaCorrected, ScrubUnfixable, ScrubCsum, ScrubSuper, Transid,
            "BTRFS error (device loop1): bad tree block start, mirror 1 want 30752768 have 0",
            "BTRFS error (device loop1): bad tree block level, mirror 2 level 9 on logical 30752768",
            "BTRFS error (device loop1): level verify failed on logical 30752768 mirror 1 wanted 1 found 0",
            "BTRFS error (device loop1): bad fsid on logical 30752768 mirror 1",
            "BTRFS error (device loop1): read time tree block corruption detected on logical 30752768 mirror 2",
            "BTRFS critical (device loop5): corrupt leaf: root=2 block=30752768 slot=0, unexpected item end",
            "BTRFS critical (device loop5): corrupt node, invalid level",
            "BTRFS info (device loop5): scrub: fixed up error at logical 88211456 on dev /dev/loop5 physical 67239936",
            "BTRFS warning (device loop0): scrub: checksum error at logical 13631488 on dev /dev/loop0, physical 13631488",
            "BTRFS error (device dm-0: state A): Transaction aborted (error -5)",
            "BTRFS info (device loop4: state EA): forced readonly",
        ];
        var used = new HashSet<BtrfsLogPattern>();
        foreach (var l in lines)
        {
            var e = BtrfsKernelLog.Decode(l);
            Assert.NotNull(e);
            var body = l[(l.IndexOf("): ", StringComparison.Ordinal) + 3)..];
            used.Add(BtrfsKernelLog.Patterns.First(p => p.Regex.IsMatch(body)));
        }
        Assert.Equal(BtrfsKernelLog.Patterns.Length, used.Count);
    }

    [Fact]
    public void HugeAndHostileInput_NeverThrows()
    {
        Assert.Null(BtrfsKernelLog.Decode("BTRFS error (device loop0): " + new string('9', 1_000_000)));
        var e = BtrfsKernelLog.Decode("BTRFS error (device loop0): bdev /dev/loop0 errs: wr 0, rd 0, flush 0, corrupt 1, gen 0" + new string(' ', 100_000));
        Assert.NotNull(e);
        Assert.True(e.Message.Length <= KmsgParser.MaxMessageChars);
    }
}

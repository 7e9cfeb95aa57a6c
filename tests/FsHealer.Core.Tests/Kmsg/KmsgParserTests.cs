using System.Text;
using FsHealer.Kmsg;

namespace FsHealer.Core.Tests.Kmsg;

public class KmsgParserTests
{
    [Fact]
    public void ParsesHeaderMessageAndDictionary()
    {
        var rec = "3,1234,600633113,-;XFS (loop0): Metadata corruption detected at xfs_dir3_data_reada_verify+0x25/0x70, xfs_dir3_data_reada block 0x78 \n" +
                  " SUBSYSTEM=block\n DEVICE=b7:0\n";
        Assert.True(KmsgParser.TryParse(Encoding.UTF8.GetBytes(rec), out var r, out var err), err);
        Assert.Equal((3, 0, 1234UL, 600633113UL, '-'), (r!.Level, r.Facility, r.Sequence, r.TimestampUsec, r.Flags));
        Assert.StartsWith("XFS (loop0): Metadata corruption", r.Message);
        Assert.Equal("b7:0", r.Property("DEVICE"));
        Assert.Null(r.Property("NOPE"));
        // facility is prio >> 3; extra header fields (caller id) are accepted
        Assert.True(KmsgParser.TryParse("14,5,6,c,caller=T12;hello", out var r2, out _));
        Assert.Equal((6, 1, 'c', "hello"), (r2!.Level, r2.Facility, r2.Flags, r2.Message));
    }

    [Fact]
    public void UnescapesNonPrintableBytes()
    {
        Assert.True(KmsgParser.TryParse("6,1,2,-;a\\x09b\\x41\\xzz\\x4", out var r, out _));
        Assert.Equal("a?bA\\xzz\\x4", r!.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("no separator here")]
    [InlineData("1,2;too few")]
    [InlineData("x,2,3,-;non numeric")]
    [InlineData("1,2,3,-\n;newline before semicolon")]
    [InlineData("-1,2,3,-;negative")]
    [InlineData("1,99999999999999999999999,3,-;overflow")]
    public void RejectsMalformedHeaders_WithADiagnostic(string s)
    {
        Assert.False(KmsgParser.TryParse(s, out var r, out var err));
        Assert.Null(r);
        Assert.False(string.IsNullOrEmpty(err));
    }

    [Fact]
    public void HugeAndGarbageRecords_NeverThrow()
    {
        var huge = "6,1,2,-;" + new string('A', 1_000_000) + "\n " + new string('B', 100_000) + "=x\n";
        Assert.True(KmsgParser.TryParse(huge, out var r, out _));
        Assert.Equal(KmsgParser.MaxMessageChars, r!.Message.Length);
        Assert.Null(KmsgClassifier.Classify(r.Message));
        var rnd = new Random(99);
        const string alpha = "0123456789,;-\n =\\xXFS(loop1): EXT4-fsBTRFS error device";
        for (int i = 0; i < 10_000; i++)
        {
            var bytes = new byte[rnd.Next(0, 300)];
            if (rnd.Next(2) == 0) rnd.NextBytes(bytes);
            else for (int j = 0; j < bytes.Length; j++) bytes[j] = (byte)alpha[rnd.Next(alpha.Length)];
            if (KmsgParser.TryParse(bytes, out var rec, out _)) KmsgClassifier.Classify(rec!.Message);
            KmsgClassifier.Classify(Encoding.Latin1.GetString(bytes));
        }
    }

    [Fact]
    public void SequenceTracker_ReportsGaps()
    {
        var t = new KmsgSequenceTracker();
        Assert.Equal(0UL, t.Observe(100));
        Assert.Equal(0UL, t.Observe(101));
        Assert.Equal(5UL, t.Observe(107));
        Assert.Equal(0UL, t.Observe(103)); // out of order/duplicate: no gap, no regression
        Assert.Equal(107UL, t.LastSequence);
    }
}

public class KmsgClassifierTests
{
    [Theory]
    // XFS, as logged by Linux 6.18 (the corruption recipes of the XFS poller kernel tests)
    [InlineData("XFS (loop0): Metadata corruption detected at xfs_dir3_data_reada_verify+0x25/0x70, xfs_dir3_data_reada block 0x78 ", "xfs", "loop0", KernelLogKind.Corruption, 0u)]
    [InlineData("XFS (loop0): Metadata CRC error detected at xfs_dir3_data_read_verify+0x71/0x100, xfs_dir3_data block 0x78 ", "xfs", "loop0", KernelLogKind.Corruption, 0u)]
    [InlineData("XFS (loop0): Unmount and run xfs_repair", "xfs", "loop0", KernelLogKind.Corruption, 0u)]
    [InlineData("XFS (loop12): Uncorrected metadata errors detected; please run xfs_repair.", "xfs", "loop12", KernelLogKind.Corruption, 0u)]
    [InlineData("XFS (loop0): metadata I/O error in \"xfs_da_read_buf+0xea/0x180\" at daddr 0x78 len 8 error 74", "xfs", "loop0", KernelLogKind.IoError, 0u)]
    [InlineData("XFS (loop0): User initiated shutdown received.", "xfs", "loop0", KernelLogKind.Shutdown, 0u)]
    [InlineData("XFS (loop0): Log I/O Error (0x6) detected at xfs_fs_goingdown+0x63/0xb0 (fs/xfs/xfs_fsops.c:475).  Shutting down filesystem.", "xfs", "loop0", KernelLogKind.Shutdown, 6u)]
    [InlineData("XFS (sda3): Metadata I/O Error (0x1) detected at xfs_trans_read_buf_map+0x1/0x2 (fs/xfs/xfs_trans_buf.c:296).  Shutting down filesystem.", "xfs", "sda3", KernelLogKind.Shutdown, 1u)]
    [InlineData("XFS (dm-0): Corruption of in-memory data (0x8) detected at xfs_trans_cancel+0x1 (fs/xfs/xfs_trans.c:1097).  Shutting down filesystem.", "xfs", "dm-0", KernelLogKind.Shutdown, 8u)]
    [InlineData("XFS (loop0): Mounting V5 Filesystem 123595e7-dc8c-4051-895e-36e47d4d7da1", "xfs", "loop0", KernelLogKind.Other, 0u)]
    // ext4
    [InlineData("EXT4-fs error (device loop3): ext4_lookup:1855: inode #2: comm ls: iget: checksum invalid", "ext4", "loop3", KernelLogKind.Corruption, 0u)]
    [InlineData("EXT4-fs error (device loop3): trigger_test_error:129: comm bash: text", "ext4", "loop3", KernelLogKind.Corruption, 0u)]
    [InlineData("EXT4-fs error (device loop3): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0", "ext4", "loop3", KernelLogKind.Corruption, 0u)]
    [InlineData("EXT4-fs error (device loop3) in ext4_reserve_inode_write:5710: IO failure", "ext4", "loop3", KernelLogKind.Corruption, 0u)]
    [InlineData("EXT4-fs error (device loop3): __ext4_get_inode_loc:4461: inode #12: block 1059: comm cat: unable to read itable block; I/O error", "ext4", "loop3", KernelLogKind.IoError, 0u)]
    [InlineData("EXT4-fs (loop3): Remounting filesystem read-only", "ext4", "loop3", KernelLogKind.Shutdown, 0u)]
    [InlineData("EXT4-fs (loop3): shut down requested (1)", "ext4", "loop3", KernelLogKind.Shutdown, 0u)]
    [InlineData("Aborting journal on device loop3-8.", "ext4", "loop3", KernelLogKind.Shutdown, 0u)]
    [InlineData("EXT4-fs (loop3): mounted filesystem 0e7c... r/w with ordered data mode.", "ext4", "loop3", KernelLogKind.Other, 0u)]
    // btrfs
    [InlineData("BTRFS error (device loop4): bdev /dev/loop4 errs: wr 0, rd 0, flush 0, corrupt 1, gen 0", "btrfs", "loop4", KernelLogKind.IoError, 0u)]
    [InlineData("BTRFS warning (device loop4): csum failed root 5 ino 257 off 0 csum 0x8941f998 expected csum 0x12345678 mirror 1", "btrfs", "loop4", KernelLogKind.Corruption, 0u)]
    [InlineData("BTRFS error (device loop4 state EA): Transaction aborted (error -5)", "btrfs", "loop4", KernelLogKind.Shutdown, 0u)]
    [InlineData("BTRFS critical (device loop5): corrupt leaf: root=2 block=30425088 slot=0, unexpected item end", "btrfs", "loop5", KernelLogKind.Corruption, 0u)]
    [InlineData("BTRFS info (device loop4 state A): forced readonly", "btrfs", "loop4", KernelLogKind.Shutdown, 0u)]
    [InlineData("BTRFS info (device loop4): first mount of filesystem 1234", "btrfs", "loop4", KernelLogKind.Other, 0u)]
    // block layer
    [InlineData("I/O error, dev loop7, sector 2048 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0", "block", "loop7", KernelLogKind.IoError, 0u)]
    [InlineData("Buffer I/O error on dev loop7, logical block 0, async page read", "block", "loop7", KernelLogKind.IoError, 0u)]
    public void RecognisesFilesystemLines(string line, string fs, string dev, KernelLogKind kind, uint reasons)
    {
        var e = KmsgClassifier.Classify(line);
        Assert.NotNull(e);
        Assert.Equal((fs, dev, kind, reasons), (e.Value.Filesystem, e.Value.Device, e.Value.Kind, e.Value.ShutdownReasons));
    }

    [Theory]
    [InlineData("")]
    [InlineData("usb 1-1: new high-speed USB device number 2")]
    [InlineData("XFS: loop0 without parentheses")]
    [InlineData("EXT4-fs error (device ): empty device")]
    [InlineData("BTRFS error device loop1: no parens")]
    public void IgnoresUnrelatedOrMalformedLines(string line) => Assert.Null(KmsgClassifier.Classify(line));

    [Fact]
    public void SameDevice_IgnoresDevPrefix()
    {
        Assert.True(KmsgClassifier.SameDevice("loop3", "/dev/loop3"));
        Assert.True(KmsgClassifier.SameDevice("dm-0", "dm-0"));
        Assert.False(KmsgClassifier.SameDevice("loop3", "/dev/loop30"));
    }
}

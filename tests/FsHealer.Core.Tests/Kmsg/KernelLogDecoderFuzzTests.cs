using FsHealer.Core.Tests.Fuzz;
using FsHealer.Kmsg;

namespace FsHealer.Core.Tests.Kmsg;

/// <summary>The btrfs and mount-failure kernel-log decoders over mutated real lines (Mutator: seeded, replayable).
/// No exception may escape; whatever decodes names a device that is in the line.</summary>
public class KernelLogDecoderFuzzTests
{
    [Fact]
    public void BtrfsKernelLog_survives_mutation() =>
        Mutator.Run("btrfs-kernel-log", 1717,
        [
            Mutator.Utf8("BTRFS warning (device loop0): csum failed root 5 ino 257 off 8192 csum 0xb57e503f expected csum 0x1a928949 mirror 1"),
            Mutator.Utf8("BTRFS warning (device loop0): checksum verify failed on logical 30752768 mirror 1 wanted 0x2f218126 found 0xd42360d8 level 0"),
            Mutator.Utf8("BTRFS info (device loop0): read error corrected: ino 0 off 30752768 (dev /dev/loop0 sector 76448)"),
            Mutator.Utf8("BTRFS error (device loop0): bdev /dev/loop0 errs: wr 0, rd 0, flush 0, corrupt 1, gen 0"),
            Mutator.Utf8("BTRFS error (device loop0): scrub: unable to fixup (regular) error at logical 13631488 on dev /dev/loop0 physical 13631488"),
            Mutator.Utf8("BTRFS warning (device loop0): scrub: checksum error at logical 13631488 on dev /dev/loop0, physical 13631488 root 5 inode 308 offset 0 length 4096 links 1 (path: victim)"),
            Mutator.Utf8("BTRFS error (device loop7): parent transid verify failed on logical 29360128 mirror 1 wanted 9 found 755944791"),
            Mutator.Utf8("BTRFS: error (device dm-0: state A) in __btrfs_free_extent:3257: errno=-5 IO failure"),
        ],
        buf =>
        {
            var line = Mutator.Text(buf);
            var e = BtrfsKernelLog.Decode(line);
            if (e is null) return false;
            Assert.False(string.IsNullOrEmpty(e.Device));
            Assert.Contains(e.Device, line, StringComparison.Ordinal);
            return true;
        });

    [Fact]
    public void MountFailureLog_survives_mutation() =>
        Mutator.Run("mount-failure-log", 1718,
        [
            Mutator.Utf8("EXT4-fs (loop3): group descriptors corrupted!"),
            Mutator.Utf8("EXT4-fs (loop3): ext4_check_descriptors: Checksum for group 0 failed (52082!=46207)"),
            Mutator.Utf8("EXT4-fs error (device loop3): ext4_get_journal_inode:5739: inode #8: comm mount: iget: special inode unallocated"),
            Mutator.Utf8("XFS (loop7): Failed to read root inode 0x80, error 117"),
            Mutator.Utf8("XFS (loop8): SB validate failed with error -74."),
            Mutator.Utf8("BTRFS error (device loop7): open_ctree failed: -5"),
            Mutator.Utf8("BTRFS error (device loop7): failed to read the system array: -2"),
        ],
        buf =>
        {
            var line = Mutator.Text(buf);
            var e = MountFailureLog.Decode(line);
            if (e is null) return false;
            Assert.Contains(e.Device, line, StringComparison.Ordinal);
            Assert.True(e.Errno is null or >= 0);
            return true;
        });
}

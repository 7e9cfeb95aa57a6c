using FsHealer.Kmsg;

namespace FsHealer.Core.Tests.Kmsg;

public class MountFailureLogTests
{
    [Theory]
    // ext4: lines Linux 6.18 printed for e2fsprogs' regression images that refused to mount (bench/corpus)
    [InlineData("EXT4-fs (loop3): VFS: Can't find ext4 filesystem", "loop3", MountFailureReason.NoFilesystem, true, true)]
    [InlineData("EXT4-fs (loop3): VFS: Found ext4 filesystem with invalid superblock checksum.  Run e2fsck?", "loop3", MountFailureReason.BadSuperblock, true, true)]
    [InlineData("EXT4-fs (loop3): group descriptors corrupted!", "loop3", MountFailureReason.GroupDescriptorsCorrupt, true, true)]
    [InlineData("EXT4-fs (loop3): ext4_check_descriptors: Checksum for group 0 failed (52082!=46207)", "loop3", MountFailureReason.GroupDescriptorsCorrupt, true, false)]
    [InlineData("EXT4-fs (loop3): ext4_check_descriptors: Block bitmap for group 0 not in group (block 0)!", "loop3", MountFailureReason.GroupDescriptorsCorrupt, true, false)]
    [InlineData("EXT4-fs (loop3): get root inode failed", "loop3", MountFailureReason.RootInodeUnreadable, true, true)]
    [InlineData("EXT4-fs (loop3): corrupt root inode, run e2fsck", "loop3", MountFailureReason.RootInodeUnreadable, true, true)]
    [InlineData("EXT4-fs error (device loop3): __ext4_fill_super:5491: inode #2: comm mount: iget: special inode unallocated", "loop3", MountFailureReason.RootInodeUnreadable, true, false)]
    [InlineData("EXT4-fs (loop3): no journal found", "loop3", MountFailureReason.JournalUnusable, true, true)]
    [InlineData("EXT4-fs (loop3): Could not load journal inode", "loop3", MountFailureReason.JournalUnusable, true, true)]
    [InlineData("EXT4-fs (loop3): external journal has bad superblock", "loop3", MountFailureReason.JournalUnusable, true, true)]
    [InlineData("EXT4-fs error (device loop3): ext4_get_journal_inode:5739: inode #8: comm mount: iget: special inode unallocated", "loop3", MountFailureReason.JournalUnusable, true, false)]
    [InlineData("EXT4-fs (loop3): bad geometry: block count 65536 exceeds size of device (16384 blocks)", "loop3", MountFailureReason.BadGeometry, true, true)]
    [InlineData("EXT4-fs (loop3): failed to initialize system zone (-117)", "loop3", MountFailureReason.BadGeometry, true, true)]
    [InlineData("EXT4-fs (loop3): Invalid log block size: 2013", "loop3", MountFailureReason.BadSuperblock, true, true)]
    [InlineData("EXT4-fs (loop3): bad s_want_extra_isize: 17", "loop3", MountFailureReason.BadSuperblock, true, true)]
    [InlineData("EXT4-fs (loop3): first meta block group too large: 2 (group descriptor block count 1)", "loop3", MountFailureReason.BadSuperblock, true, true)]
    [InlineData("EXT4-fs (loop3): unsupported inode size: 0", "loop3", MountFailureReason.BadSuperblock, true, true)]
    [InlineData("EXT4-fs (loop3): mount failed", "loop3", MountFailureReason.Failed, true, true)]
    [InlineData("EXT4-fs (loop3): bad block size 16384", "loop3", MountFailureReason.Unsupported, false, true)]
    [InlineData("EXT4-fs (loop3): couldn't mount RDWR because of unsupported optional features (400)", "loop3", MountFailureReason.Unsupported, false, true)]
    [InlineData("EXT4-fs (loop3): Filesystem with casefold feature cannot be mounted without CONFIG_UNICODE", "loop3", MountFailureReason.Unsupported, false, true)]
    [InlineData("EXT4-fs (loop3): The kernel was not built with CONFIG_QUOTA and CONFIG_QFMT_V2", "loop3", MountFailureReason.Unsupported, false, true)]
    // XFS: lines Linux 6.18 printed for fuzzed images (bench/corpus xfs-sb0-*, xfs-rootdir-magic, xfs-agf1-magicnum)
    [InlineData("XFS (loop8): Invalid superblock magic number", "loop8", MountFailureReason.NoFilesystem, true, true)]
    [InlineData("XFS (loop8): SB validate failed with error -74.", "loop8", MountFailureReason.BadSuperblock, true, true)]
    [InlineData("XFS (loop7): SB sanity check failed", "loop7", MountFailureReason.BadSuperblock, true, false)]
    [InlineData("XFS (loop7): Failed to read root inode 0x80, error 117", "loop7", MountFailureReason.RootInodeUnreadable, true, true)]
    [InlineData("XFS (loop7): Error -117 reserving per-AG metadata reserve pool.", "loop7", MountFailureReason.AllocationGroupCorrupt, true, true)]
    [InlineData("XFS (dm-3): log mount failed", "dm-3", MountFailureReason.JournalUnusable, true, true)]
    [InlineData("XFS (dm-3): Corruption warning: Metadata has LSN (1:1201) ahead of current LSN (1:48). Please unmount and run xfs_repair (>= v4.3) to resolve.", "dm-3", MountFailureReason.JournalUnusable, true, false)]
    [InlineData("XFS (sdb1): Superblock has unknown incompatible features (0x40) enabled.", "sdb1", MountFailureReason.Unsupported, false, true)]
    // btrfs: lines Linux 6.18 printed for btrfs-progs fsck images and one-mirror damage (bench/corpus)
    [InlineData("BTRFS error (device loop7): open_ctree failed: -5", "loop7", MountFailureReason.Failed, true, true)]
    [InlineData("BTRFS error (device loop7): open_ctree failed", "loop7", MountFailureReason.Failed, true, true)]
    [InlineData("BTRFS warning (device loop7): failed to read fs tree: -5", "loop7", MountFailureReason.TreeUnreadable, true, false)]
    [InlineData("BTRFS error (device loop7): failed to read the system array: -2", "loop7", MountFailureReason.TreeUnreadable, true, false)]
    [InlineData("BTRFS error (device sda): failed to read chunk tree: -5", "sda", MountFailureReason.TreeUnreadable, true, false)]
    [InlineData("BTRFS error (device loop8): failed to verify dev extents against chunks: -117", "loop8", MountFailureReason.TreeUnreadable, true, false)]
    [InlineData("BTRFS error (device loop8): dev extent devid 1 physical offset 105906176 len 50331648 is beyond device boundary 134217728", "loop8", MountFailureReason.BadGeometry, true, false)]
    [InlineData("BTRFS error (device vda2): super_total_bytes 8051994624 mismatch with fs_devices total_rw_bytes 8050966528", "vda2", MountFailureReason.BadGeometry, true, false)]
    [InlineData("BTRFS error (device loop7): devid 2 uuid 5a9daa6d-ad39-484a-bf70-25db6c46492b is missing", "loop7", MountFailureReason.DeviceMissing, false, false)]
    [InlineData("BTRFS error (device loop7: state E): open_ctree failed: -22", "loop7", MountFailureReason.Failed, true, true)]
    public void RecognisesMountFailureLines(string line, string dev, MountFailureReason reason, bool damage, bool final)
    {
        var e = MountFailureLog.Decode(line);
        Assert.NotNull(e);
        Assert.Equal((dev, reason, damage, final, line), (e.Device, e.Reason, e.Damage, e.Final, e.Message));
        Assert.Equal(line.StartsWith("EXT4", StringComparison.Ordinal) ? "ext4" : line.StartsWith("XFS", StringComparison.Ordinal) ? "xfs" : "btrfs", e.Filesystem);
    }

    [Theory]
    // the errno in the line, positive: 117 = EUCLEAN = EFSCORRUPTED, 74 = EBADMSG = EFSBADCRC
    [InlineData("XFS (loop7): SB validate failed with error -117.", 117)]
    [InlineData("XFS (loop8): SB validate failed with error -74.", 74)]
    [InlineData("XFS (loop7): Failed to read root inode 0x861, error 22", 22)]
    [InlineData("BTRFS error (device loop8): open_ctree failed: -117", 117)]
    [InlineData("BTRFS error (device loop8): open_ctree failed", null)]
    public void CarriesTheErrno(string line, int? errno) => Assert.Equal(errno, MountFailureLog.Decode(line)!.Errno);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    // mounts that worked, and run-time damage (the runtime classifiers' business)
    [InlineData("EXT4-fs (loop3): mounted filesystem 0e7c5a1e-0000-4000-8000-000000000017 r/w with ordered data mode. Quota mode: none.")]
    [InlineData("EXT4-fs error (device loop3): ext4_lookup:1855: inode #2: comm ls: iget: checksum invalid")]
    [InlineData("XFS (loop7): Mounting V5 Filesystem 5a1e17e5-0000-4000-8000-0000000000f5")]
    [InlineData("XFS (loop7): Ending clean mount")]
    [InlineData("XFS (loop0): Metadata corruption detected at xfs_dir3_data_read_verify+0x71/0x100, xfs_dir3_data block 0x78 ")]
    [InlineData("BTRFS info (device loop7): first mount of filesystem 5a1e17e5-0000-4000-8000-0000000000b7")]
    [InlineData("BTRFS warning (device loop0): csum failed root 5 ino 257 off 8192 csum 0xb57e503f expected csum 0x1a928949 mirror 1")]
    // malformed: no device, wrong prefix, an errno that does not fit
    [InlineData("EXT4-fs: group descriptors corrupted!")]
    [InlineData("XFS: Invalid superblock magic number")]
    [InlineData("xfs (loop0): Invalid superblock magic number")]
    [InlineData("BTRFS error (device loop8): open_ctree failed: -99999999999999999999")]
    public void OtherLines_AreNotMountFailures(string? line) => Assert.Null(MountFailureLog.Decode(line));

    [Fact]
    public void EveryRow_IsReachable()
    {
        // one line per row, in table order: a row no line reaches is dead data
        string[] lines =
        [
            "EXT4-fs (l): mount failed", "EXT4-fs (l): VFS: Can't find ext4 filesystem",
            "EXT4-fs (l): VFS: Found ext4 filesystem with invalid superblock checksum.  Run e2fsck?",
            "EXT4-fs (l): unable to read superblock", "EXT4-fs (l): bad geometry: first data block 9 is beyond end of filesystem (8)",
            "EXT4-fs (l): group descriptors corrupted!", "EXT4-fs (l): ext4_check_descriptors: Inode table for group 1 not in group (block 0)!",
            "EXT4-fs (l): get root inode failed", "EXT4-fs error (device l): __ext4_fill_super:5491: inode #2: comm mount: iget: bad i_size",
            "EXT4-fs (l): error loading journal", "EXT4-fs error (device l): ext4_get_journal_inode:5739: inode #8: comm mount: iget: checksum invalid",
            "EXT4-fs (l): Couldn't mount because of unsupported optional features (10000)",
            "XFS (l): Invalid superblock magic number", "XFS (l): SB validate failed with error -117.", "XFS (l): SB sanity check failed",
            "XFS (l): Failed to read root inode 0x80, error 117", "XFS (l): Error -117 reserving per-AG metadata reserve pool.",
            "XFS (l): log mount failed", "XFS (l): Corruption warning: Metadata has LSN (1:1201) ahead of current LSN (1:48).",
            "XFS (l): filesystem size mismatch detected", "XFS (l): Superblock has unknown read-only compatible features (0x10) enabled.",
            "BTRFS error (device l): open_ctree failed: -5", "BTRFS error (device l): failed to read chunk tree: -5",
            "BTRFS error (device l): super_total_bytes 2 mismatch with fs_devices total_rw_bytes 1",
            "BTRFS error (device l): superblock checksum mismatch", "BTRFS error (device l): devid 2 uuid 5a9daa6d-ad39-484a-bf70-25db6c46492b is missing",
            "BTRFS error (device l): cannot mount because of unknown incompat features (0x1000)",
        ];
        Assert.Equal(MountFailureLog.Patterns.Length, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            var e = MountFailureLog.Decode(lines[i]);
            Assert.True(e is not null, $"row {i} ({MountFailureLog.Patterns[i].Pattern}) is not reached by '{lines[i]}'");
            Assert.Equal((MountFailureLog.Patterns[i].Filesystem, MountFailureLog.Patterns[i].Reason), (e.Filesystem, e.Reason));
        }
    }

    [Fact]
    public void HugeAndHostileInput_NeverThrows()
    {
        Assert.Null(MountFailureLog.Decode("EXT4-fs (" + new string('(', 100_000)));
        var e = MountFailureLog.Decode("XFS (loop0): log mount failed" + new string('x', 1_000_000));
        Assert.NotNull(e);
        Assert.True(e.Message.Length <= KmsgParser.MaxMessageChars);
        var rnd = new Random(17);
        const string alpha = "EXT4-fs XFS BTRFS error (device loop0): open_ctree failed: -117 group descriptors corrupted! SB validate";
        for (int i = 0; i < 20_000; i++)
        {
            var chars = new char[rnd.Next(0, 200)];
            for (int j = 0; j < chars.Length; j++) chars[j] = alpha[rnd.Next(alpha.Length)];
            var s = new string(chars);
            var d = MountFailureLog.Decode(s);
            if (d is not null) Assert.Contains(d.Device, s, StringComparison.Ordinal);
        }
    }
}

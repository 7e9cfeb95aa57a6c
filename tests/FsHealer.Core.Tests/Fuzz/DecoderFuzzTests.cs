using System.Buffers.Binary;
using System.Text;
using FsHealer.Btrfs;
using FsHealer.Ext4;
using FsHealer.Fanotify;
using FsHealer.Kmsg;
using FsHealer.Mounts;
using FsHealer.Xfs;

namespace FsHealer.Core.Tests.Fuzz;

/// <summary>
/// Hostile input: every decoder over mutated valid samples (Mutator). FSHEALER_FUZZ_COUNT inputs per decoder
/// (10,000 by default; 1,000,000 in the long-run mode, see RELIABILITY.md). No exception may escape, and where the
/// API reports rejection (TryDecode/diagnostics list/error out-param) a rejected input must carry a non-empty reason.
/// </summary>
public class DecoderFuzzTests
{
    private static void Reason(string? why, string what) =>
        Assert.False(string.IsNullOrWhiteSpace(why), $"{what} rejected an input without a diagnostic");

    // ---------- XFS health monitor: decode + format + plan, on 64-byte records and short/odd reads ----------
    private static byte[][] HealthSamples() =>
    [
        HealthMonitorEvent.Running(1).ToBytes(), HealthMonitorEvent.Lost(7, 2).ToBytes(),
        HealthMonitorEvent.Shutdown(0x3, 3).ToBytes(), HealthMonitorEvent.Fs(HealthEventType.Sick, 0xffff).ToBytes(),
        HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Corrupt, 3, 0xffff).ToBytes(),
        HealthMonitorEvent.Group(HealthDomain.RtGroup, HealthEventType.Sick, 1, 0xff).ToBytes(),
        HealthMonitorEvent.Inode(HealthEventType.Sick, 131, 5, 0xffff).ToBytes(),
        HealthMonitorEvent.Media(HealthDomain.DataDev, 4096, 8).ToBytes(),
        HealthMonitorEvent.FileRange(HealthEventType.DioRead, 131, 5, 0, 4096, 5).ToBytes(),
        [.. HealthMonitorEvent.Unmount().ToBytes(), .. HealthMonitorEvent.Running().ToBytes()],
    ];

    /// <summary>A read() of n bytes holds n/64 records; a short tail is reported, never decoded past the end.</summary>
    private static bool HealthTarget(byte[] buf)
    {
        var steps = new RepairStep[16];
        var sb = new StringBuilder();
        int off = 0;
        for (; off + HealthMonitorEvent.Size <= buf.Length; off += HealthMonitorEvent.Size)
        {
            var e = HealthMonitorEvent.Decode(buf.AsSpan(off, HealthMonitorEvent.Size));
            sb.Clear();
            XfsEventFormatter.AppendEvent(sb, e, "/mnt/x", (e.InodeIno & 1) == 0 ? null : "a/b");
            _ = XfsEventFormatter.Describe(e);
            int n = RepairPlanner.Plan(e, steps);
            Assert.InRange(n, 0, steps.Length);
            _ = RepairPlanner.UnrepairableBits(e);
            for (int i = 0; i < n; i++)
                foreach (var o in Enum.GetValues<RepairOutcome>())
                    _ = XfsEventFormatter.FormatRepair(e, steps[i].StructFlag, o, "/mnt/x");
        }
        // Decode itself refuses (ArgumentException, its documented contract) a short record: the reader must not call it.
        if (buf.Length - off > 0)
            Assert.Throws<ArgumentException>(() => HealthMonitorEvent.Decode(buf.AsSpan(off)));
        return buf.Length % HealthMonitorEvent.Size == 0;
    }

    [Fact] public void HealthMonitor_records_survive_mutation() =>
        Mutator.Run("xfs-healthmon", 8001, HealthSamples(), HealthTarget);

    // ---------- fanotify: FanotifyEventReader, FsErrorDecoder, MountRecordDecoder ----------
    private static byte[] Meta(ulong mask, byte[] infos, int fd = -1, int pid = 0)
    {
        var b = new byte[FanotifyAbi.MetadataSize + infos.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)b.Length);
        b[4] = FanotifyAbi.METADATA_VERSION;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(6), FanotifyAbi.MetadataSize);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), mask);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), fd);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(20), pid);
        infos.CopyTo(b, FanotifyAbi.MetadataSize);
        return b;
    }

    private static byte[] Info(byte type, byte[] body)
    {
        var b = new byte[4 + body.Length];
        b[0] = type;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), (ushort)b.Length);
        body.CopyTo(b, 4);
        return b;
    }

    private static byte[] ErrorInfo(int error, uint count)
    {
        var body = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(body, error);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), count);
        return Info(FanotifyAbi.INFO_ERROR, body);
    }

    private static byte[] FidInfo(int handleLen, int handleType = 1)
    {
        var body = new byte[16 + handleLen];
        BinaryPrimitives.WriteUInt64LittleEndian(body, 0x1234_5678_9abc_def0);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(8), (uint)handleLen);
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(12), handleType);
        for (int i = 0; i < handleLen; i++) body[16 + i] = (byte)(i * 7);
        return Info(FanotifyAbi.INFO_FID, body);
    }

    private static byte[] MntInfo(ulong id)
    {
        var body = new byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(body.AsSpan(4), id);
        return Info(FanotifyAbi.INFO_MNT, body);
    }

    private static byte[][] FanotifySamples() =>
    [
        Meta(FanotifyAbi.FAN_FS_ERROR, [.. ErrorInfo(5, 1), .. FidInfo(8)]),
        Meta(FanotifyAbi.FAN_FS_ERROR, [.. FidInfo(12, 0x81), .. ErrorInfo(117, 3)]),
        [.. Meta(FanotifyAbi.FAN_FS_ERROR, [.. ErrorInfo(5, 1), .. FidInfo(8)]), .. Meta(FanotifyAbi.FAN_Q_OVERFLOW, [])],
        Meta(FanotifyAbi.FAN_MNT_ATTACH, MntInfo(0x1000_0000_0000_0042)),
        [.. Meta(FanotifyAbi.FAN_MNT_ATTACH, MntInfo(1)), .. Meta(FanotifyAbi.FAN_MNT_DETACH, MntInfo(2))],
    ];

    private static bool FanotifyTarget(byte[] buf)
    {
        // the raw walker: either it consumes the whole buffer, or it says why it stopped
        var r = new FanotifyEventReader(buf);
        bool infosOk = true;
        while (r.TryRead(out var ev))
        {
            var why = ev.ValidateInfos();
            if (why is not null) { Reason(why, "FanotifyEvent.ValidateInfos"); infosOk = false; }
        }
        bool clean = r.Malformed is null;
        if (!clean) Reason(r.Malformed, "FanotifyEventReader");

        var fs = FsErrorDecoder.Decode(buf);
        foreach (var e in fs.Events) _ = e.ToString();
        if (!clean) Assert.NotEmpty(fs.Diagnostics);

        var diags = new List<string>();
        var mounts = MountRecordDecoder.DecodeAll(buf, diags);
        Assert.True(mounts.Count <= buf.Length / FanotifyAbi.MetadataSize + 1);
        if (!clean) Assert.NotEmpty(diags);
        foreach (var d in diags) Reason(d, "MountRecordDecoder");
        return clean && infosOk;
    }

    [Fact] public void Fanotify_buffers_survive_mutation() =>
        Mutator.Run("fanotify (reader, fs-error, mount records)", 8002, FanotifySamples(), FanotifyTarget);

    // ---------- statmount ----------
    private static byte[] Statmount(params string[] strings)
    {
        var fixedPart = new byte[StatmountAbi.FixedSize];
        var strs = new List<byte>();
        int[] offs = [StatmountAbi.OffFsType, StatmountAbi.OffMntRoot, StatmountAbi.OffMntPoint, StatmountAbi.OffSbSource, StatmountAbi.OffMntOpts];
        ulong[] bits = [StatmountAbi.SB_BASIC, StatmountAbi.MNT_BASIC, StatmountAbi.MNT_ROOT];
        ulong mask = 0;
        foreach (var bit in bits) mask |= bit;
        for (int i = 0; i < strings.Length && i < offs.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(fixedPart.AsSpan(offs[i]), (uint)strs.Count);
            strs.AddRange(Encoding.UTF8.GetBytes(strings[i])); strs.Add(0);
        }
        mask = StatmountAbi.AllKnown;
        BinaryPrimitives.WriteUInt64LittleEndian(fixedPart.AsSpan(StatmountAbi.OffMask), mask);
        BinaryPrimitives.WriteUInt32LittleEndian(fixedPart, (uint)(fixedPart.Length + strs.Count));
        BinaryPrimitives.WriteUInt64LittleEndian(fixedPart.AsSpan(StatmountAbi.OffMntId), 0x1000_0000_0000_0042);
        return [.. fixedPart, .. strs];
    }

    [Fact] public void Statmount_buffers_survive_mutation() =>
        Mutator.Run("statmount", 8003,
            [Statmount("xfs", "/", "/mnt/x", "/dev/loop0", "rw,relatime"), Statmount("ext4", "/sub", "/mnt/a b", "/dev/sda1", "ro"), Statmount()],
            buf =>
            {
                var diags = new List<string>();
                var info = StatmountDecoder.Decode(buf, diags);
                foreach (var d in diags) Reason(d, "StatmountDecoder");
                if (info is null) Assert.NotEmpty(diags);
                return info is not null;
            });

    // ---------- mountinfo (the one parser, Core/Mounts, and the helpers the XFS and ext4 code use on its entries) ----------
    private static readonly string[] MountInfoLines =
    [
        "36 35 98:0 /mnt1 /mnt/parent\\040dir rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
        "100 29 7:0 / /mnt/x rw,relatime shared:5 - xfs /dev/loop0 rw,attr2,inode64,logbufs=8,noquota",
        "200 29 7:1 / /mnt/e ro,relatime - ext4 /dev/loop1 ro,errors=remount-ro",
        "300 29 0:50 / /mnt/with\\134backslash\\011tab rw - tmpfs tmpfs rw,size=1024k",
    ];

    [Fact] public void Mountinfo_lines_survive_mutation() =>
        Mutator.Run("mountinfo", 8004, [.. MountInfoLines.Select(Mutator.Utf8), Mutator.Utf8(string.Join('\n', MountInfoLines))],
            buf =>
            {
                string text = Mutator.Text(buf);
                var diags = new List<string>();
                var all = MountInfoParser.ParseAll(text, diags);
                foreach (var d in diags) Reason(d, "MountInfoParser.ParseAll");
                foreach (var line in text.Split('\n'))
                {
                    var e = MountInfoParser.ParseLine(line, out var err);
                    if (e is null && line.Length > 0) Reason(err, "MountInfoParser.ParseLine");
                    if (e is null) continue;
                    _ = (e.FullFsType, e.KernelDeviceName, Ext4MountOptions.Of(e).ErrorsPolicy);
                    _ = MountInfoParser.FindTopmost(all, e.MountPoint);
                }
                _ = MountInfoParser.FindTopmost(all, "/");
                _ = MountInfoParser.Unescape(text);
                return diags.Count == 0;
            });

    [Fact] public void Mountinfo_huge_line_is_handled()
    {
        string huge = "1 2 7:0 / /" + new string('a', 1 << 20) + "\\040" + " rw - xfs /dev/loop0 rw";
        var e = MountInfoParser.ParseLine(huge, out var err);
        Assert.True(e is not null || err is not null);
        string bad = new string('\\', 100_000);
        _ = MountInfoParser.ParseLine(bad, out err);
        Reason(err, "MountInfoParser.ParseLine");
    }

    // ---------- /dev/kmsg records + classifier ----------
    [Fact] public void Kmsg_records_survive_mutation() =>
        Mutator.Run("kmsg", 8005,
        [
            Mutator.Utf8("3,1234,5678901,-;XFS (loop0): Corruption detected. Unmount and run xfs_repair\n"),
            Mutator.Utf8("2,99,100,-,caller=T12;EXT4-fs error (device loop1): ext4_lookup:1855: inode #2: comm ls: deleted inode referenced: 12\n SUBSYSTEM=block\n DEVICE=b7:1\n"),
            Mutator.Utf8("4,7,8,c;BTRFS error (device loop2): bdev /dev/loop2 errs: wr 0, rd 0, flush 0, corrupt 1, gen 0\\x0a"),
            Mutator.Utf8("0,1,2,-;XFS (sda1): Filesystem has been shut down due to log error (0x2)."),
        ],
        buf =>
        {
            bool ok = KmsgParser.TryParse(buf, out var rec, out var err);
            if (!ok) Reason(err, "KmsgParser");
            else _ = KmsgClassifier.Classify(rec!.Message);
            _ = KmsgClassifier.Classify(Mutator.Text(buf));
            _ = KmsgParser.Unescape(Mutator.Text(buf));
            return ok;
        });

    // ---------- btrfs ioctl results ----------
    private static byte[] Zero(int n, Action<byte[]>? fill = null) { var b = new byte[n]; fill?.Invoke(b); return b; }

    [Fact] public void Btrfs_ioctl_results_survive_mutation()
    {
        byte[] container = Zero(BtrfsAbi.DataContainerHeaderSize + 64, b =>
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b, 64);           // bytes_left
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 0);  // bytes_missing
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), 3);  // elem_cnt
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), 0); // elem_missed
        });
        byte[][] samples =
        [
            Zero(BtrfsAbi.FsInfoArgsSize, b => b[0] = 2), Zero(BtrfsAbi.DevInfoArgsSize, b => b[0] = 1),
            Zero(BtrfsAbi.GetDevStatsSize, b => { b[0] = 1; b[8] = 5; }), Zero(BtrfsAbi.ScrubArgsSize),
            Zero(BtrfsAbi.ScrubProgressSize), container, Zero(BtrfsAbi.InoLookupArgsSize),
        ];
        Mutator.Run("btrfs ioctl results", 8006, samples, buf =>
        {
            string? err;
            if (!BtrfsDecode.TryDecodeFsInfo(buf, out _, out err)) { Reason(err, "TryDecodeFsInfo"); }
            if (!BtrfsDecode.TryDecodeDevInfo(buf, out _, out err)) { Reason(err, "TryDecodeDevInfo"); }
            if (!BtrfsDecode.TryDecodeDevStats(buf, out _, out _, out err)) { Reason(err, "TryDecodeDevStats"); }
            if (!BtrfsDecode.TryDecodeScrubArgs(buf, out _, out _, out err)) { Reason(err, "TryDecodeScrubArgs"); }
            if (!BtrfsDecode.TryDecodeScrubProgress(buf, out _, out err)) { Reason(err, "TryDecodeScrubProgress"); }
            if (!BtrfsDecode.TryDecodeLogicalIno(buf, out _, out err)) Reason(err, "TryDecodeLogicalIno");
            if (!BtrfsDecode.TryDecodeInoPaths(buf, out _, out err)) Reason(err, "TryDecodeInoPaths");
            if (!BtrfsDecode.TryDecodeInoLookupTreeId(buf, out _, out err)) Reason(err, "TryDecodeInoLookupTreeId");
            string text = Mutator.Text(buf.AsSpan(0, Math.Min(buf.Length, 512)).ToArray());
            if (!BtrfsDecode.TryParseErrorStats(text, out _, out err)) Reason(err, "TryParseErrorStats");
            return true; // each sample is valid for one decoder only; rejection reasons are asserted above
        });
    }

    // ---------- XFS scan records (pre-7.0 polling) and GETPARENTS ----------
    [Fact] public void XfsScan_records_survive_mutation()
    {
        byte[][] samples =
        [
            Zero(XfsScanAbi.AgGeometrySize, b => b[4] = 16), Zero(XfsScanAbi.BulkIreqSize, b => b[16] = 4),
            Zero(XfsScanAbi.BulkIreqSize + 2 * XfsScanAbi.BulkstatSize, b => b[XfsScanAbi.BulkIreqSize] = 131),
            Zero(XfsScanAbi.BulkIreqSize + 3 * XfsScanAbi.InumbersSize, b => b[XfsScanAbi.BulkIreqSize] = 128),
            Zero(256, b => { b[0] = 0; b[1] = 16; }),
        ];
        var inum = new InumbersRecord[64];
        var bulk = new BulkstatRecord[64];
        Mutator.Run("xfs scan records", 8007, samples, buf =>
        {
            _ = AgGeometry.TryDecode(buf, out _);
            _ = RtGroupGeometry.TryDecode(buf, out _);
            _ = XfsInodeLayout.TryDecode(buf, out _);
            _ = BulkstatRecord.TryDecode(buf, out _);
            _ = InumbersRecord.TryDecode(buf, out _);
            if (BulkIreq.TryDecode(buf, out var ireq) && buf.Length >= XfsScanAbi.BulkIreqSize)
            {
                var payload = buf.AsSpan(XfsScanAbi.BulkIreqSize);
                int ni = BulkRecords.DecodeInumbers(payload, ireq.OCount, inum);
                int nb = BulkRecords.DecodeBulkstat(payload, ireq.OCount, bulk);
                Assert.InRange(ni, 0, Math.Min(inum.Length, payload.Length / XfsScanAbi.InumbersSize));
                Assert.InRange(nb, 0, Math.Min(bulk.Length, payload.Length / XfsScanAbi.BulkstatSize));
            }
            return true;
        });
    }

    private static byte[] ParentRec(string name, ulong ino)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        int len = (32 + nameBytes.Length + 1 + 7) & ~7;
        var b = new byte[len];
        BinaryPrimitives.WriteUInt64LittleEndian(b, 0xfeed);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), 14);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), ino);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(24), (uint)len);
        nameBytes.CopyTo(b, 32);
        return b;
    }

    [Fact] public void GetParents_buffers_survive_mutation() =>
        Mutator.Run("getparents", 8008, [ParentRec("file", 128), [.. ParentRec("a", 128), .. ParentRec("longer-name", 129), .. new byte[40]]],
            buf =>
            {
                var recs = GetParentsDecoder.Decode(buf);
                Assert.True(recs.Count <= buf.Length / 32 + 1);
                _ = XfsHandle.TryDecode(buf, out _);
                return true;
            });

    // ---------- ext4 sysfs attributes and superblock ----------
    [Fact] public void Ext4_sysfs_and_superblock_survive_mutation()
    {
        var good = new Dictionary<string, string>
        {
            ["errors_count"] = "3\n", ["msg_count"] = "0\n", ["warning_count"] = "1\n",
            ["first_error_time"] = "1700000000\n", ["first_error_ino"] = "12\n", ["first_error_block"] = "0\n",
            ["first_error_line"] = "1855\n", ["first_error_func"] = "ext4_lookup\n", ["first_error_errcode"] = "5\n",
            ["last_error_time"] = "1700000100\n", ["last_error_ino"] = "13\n", ["last_error_block"] = "77\n",
            ["last_error_line"] = "99\n", ["last_error_func"] = "ext4_iget\n", ["last_error_errcode"] = "117\n",
        };
        var sb = new byte[1024];
        BinaryPrimitives.WriteUInt16LittleEndian(sb.AsSpan(0x38), Ext4Superblock.Magic);
        string serialized = string.Join('\u0001', Ext4SysfsState.AttributeNames.Select(n => n + "=" + good[n]));
        Mutator.Run("ext4 sysfs + superblock", 8009, [Mutator.Utf8(serialized), sb], buf =>
        {
            var attrs = new Dictionary<string, string>();
            foreach (var kv in Mutator.Text(buf).Split('\u0001'))
            {
                int eq = kv.IndexOf('=');
                if (eq > 0) attrs[kv[..eq]] = kv[(eq + 1)..];
            }
            var st = Ext4SysfsState.Parse("loop0", attrs);
            foreach (var d in st.Diagnostics) Reason(d, "Ext4SysfsState");
            _ = st.FirstError?.ToString();
            var s = Ext4Superblock.Parse(buf, out var diag);
            if (s is null) Reason(diag, "Ext4Superblock");
            return true;
        });
    }
}

using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using FsHealer.Text;

namespace FsHealer.Btrfs;

/// <summary>BTRFS_IOC_FS_INFO result.</summary>
public sealed record BtrfsFsInfo(ulong MaxId, ulong NumDevices, Guid Fsid, uint NodeSize, uint SectorSize,
    uint CloneAlignment, ushort CsumType, ushort CsumSize, ulong Flags, ulong Generation, Guid MetadataUuid)
{
    /// <summary>The fsid as sysfs names the directory /sys/fs/btrfs/&lt;fsid&gt;.</summary>
    public string FsidText => Fsid.ToString("D");
}

/// <summary>BTRFS_IOC_DEV_INFO result for one device.</summary>
public sealed record BtrfsDevInfo(ulong Devid, Guid Uuid, ulong BytesUsed, ulong TotalBytes, Guid Fsid, string Path);

/// <summary>The five per-device error counters (BTRFS_DEV_STAT_*).</summary>
public readonly record struct DevStatCounters(ulong WriteErrs, ulong ReadErrs, ulong FlushErrs, ulong CorruptionErrs, ulong GenerationErrs)
{
    public ulong this[DevStatKind k] => k switch
    {
        DevStatKind.WriteErrs => WriteErrs,
        DevStatKind.ReadErrs => ReadErrs,
        DevStatKind.FlushErrs => FlushErrs,
        DevStatKind.CorruptionErrs => CorruptionErrs,
        DevStatKind.GenerationErrs => GenerationErrs,
        _ => 0,
    };

    public static DevStatCounters FromArray(ReadOnlySpan<ulong> v) => new(
        v.Length > 0 ? v[0] : 0, v.Length > 1 ? v[1] : 0, v.Length > 2 ? v[2] : 0, v.Length > 3 ? v[3] : 0, v.Length > 4 ? v[4] : 0);

    public ulong Total => WriteErrs + ReadErrs + FlushErrs + CorruptionErrs + GenerationErrs;

    public override string ToString()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < BtrfsAbi.DevStatValuesMax; i++)
        {
            if (i > 0) sb.Append(' ');
            sb.Append(DevStatNames.Progs[i]).Append('=').Append(this[(DevStatKind)i].ToString(CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}

/// <summary>struct btrfs_scrub_progress (all u64).</summary>
public sealed record ScrubProgress(
    ulong DataExtentsScrubbed, ulong TreeExtentsScrubbed, ulong DataBytesScrubbed, ulong TreeBytesScrubbed,
    ulong ReadErrors, ulong CsumErrors, ulong VerifyErrors, ulong NoCsum, ulong CsumDiscards, ulong SuperErrors,
    ulong MallocErrors, ulong UncorrectableErrors, ulong CorrectedErrors, ulong LastPhysical, ulong UnverifiedErrors)
{
    public static readonly ScrubProgress Empty = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    public ulong BytesScrubbed => DataBytesScrubbed + TreeBytesScrubbed;
    public ulong ErrorsFound => ReadErrors + CsumErrors + VerifyErrors + SuperErrors;
}

/// <summary>One LOGICAL_INO reference: inode number, file offset and subvolume root.</summary>
public readonly record struct LogicalInoRef(ulong Inode, ulong Offset, ulong Root);

/// <summary>LOGICAL_INO output: refs plus how many were left out because the buffer was too small.</summary>
public sealed record LogicalInoResult(IReadOnlyList<LogicalInoRef> Refs, uint ElemMissed, uint BytesMissing);

/// <summary>INO_PATHS output: paths relative to the subvolume of the fd, plus how many did not fit.</summary>
public sealed record InoPathsResult(IReadOnlyList<string> Paths, uint ElemMissed, uint BytesMissing);

/// <summary>
/// Pure decoders/encoders for btrfs ioctl buffers. Every TryDecode checks the buffer size first and never throws;
/// on failure it returns false with a diagnostic naming the structure and the problem.
/// </summary>
public static class BtrfsDecode
{
    private static ulong U64(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadUInt64LittleEndian(b.Slice(off, 8));
    private static uint U32(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadUInt32LittleEndian(b.Slice(off, 4));
    private static ushort U16(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadUInt16LittleEndian(b.Slice(off, 2));
    private static Guid Uuid(ReadOnlySpan<byte> b, int off) => new(b.Slice(off, 16), bigEndian: true);

    private static bool SizeOk(ReadOnlySpan<byte> b, int need, string what, out string? error)
    {
        error = b.Length < need ? $"{what}: buffer is {b.Length} bytes, need {need}" : null;
        return error is null;
    }

    public static bool TryDecodeFsInfo(ReadOnlySpan<byte> b, out BtrfsFsInfo? info, out string? error)
    {
        info = null;
        if (!SizeOk(b, BtrfsAbi.FsInfoArgsSize, "btrfs_ioctl_fs_info_args", out error)) return false;
        info = new BtrfsFsInfo(U64(b, BtrfsAbi.FsInfoOffMaxId), U64(b, BtrfsAbi.FsInfoOffNumDevices), Uuid(b, BtrfsAbi.FsInfoOffFsid),
            U32(b, BtrfsAbi.FsInfoOffNodeSize), U32(b, BtrfsAbi.FsInfoOffSectorSize), U32(b, BtrfsAbi.FsInfoOffCloneAlignment),
            U16(b, BtrfsAbi.FsInfoOffCsumType), U16(b, BtrfsAbi.FsInfoOffCsumSize), U64(b, BtrfsAbi.FsInfoOffFlags),
            U64(b, BtrfsAbi.FsInfoOffGeneration), Uuid(b, BtrfsAbi.FsInfoOffMetadataUuid));
        return true;
    }

    /// <summary>Fill an FS_INFO request: zero, then ask for csum info, generation and metadata uuid.</summary>
    public static void EncodeFsInfoRequest(Span<byte> b)
    {
        b[..BtrfsAbi.FsInfoArgsSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.FsInfoOffFlags..],
            BtrfsAbi.FsInfoFlagCsumInfo | BtrfsAbi.FsInfoFlagGeneration | BtrfsAbi.FsInfoFlagMetadataUuid);
    }

    public static void EncodeDevInfoRequest(Span<byte> b, ulong devid)
    {
        b[..BtrfsAbi.DevInfoArgsSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.DevInfoOffDevid..], devid);
    }

    public static bool TryDecodeDevInfo(ReadOnlySpan<byte> b, out BtrfsDevInfo? info, out string? error)
    {
        info = null;
        if (!SizeOk(b, BtrfsAbi.DevInfoArgsSize, "btrfs_ioctl_dev_info_args", out error)) return false;
        info = new BtrfsDevInfo(U64(b, BtrfsAbi.DevInfoOffDevid), Uuid(b, BtrfsAbi.DevInfoOffUuid), U64(b, BtrfsAbi.DevInfoOffBytesUsed),
            U64(b, BtrfsAbi.DevInfoOffTotalBytes), Uuid(b, BtrfsAbi.DevInfoOffFsid),
            CString(b.Slice(BtrfsAbi.DevInfoOffPath, BtrfsAbi.DevInfoPathSize)));
        return true;
    }

    public static void EncodeDevStatsRequest(Span<byte> b, ulong devid, bool reset = false)
    {
        b[..BtrfsAbi.GetDevStatsSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.DevStatsOffDevid..], devid);
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.DevStatsOffNrItems..], BtrfsAbi.DevStatValuesMax);
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.DevStatsOffFlags..], reset ? BtrfsAbi.DevStatsFlagReset : 0);
    }

    /// <summary>Decode GET_DEV_STATS. Counters beyond nr_items (an older kernel) read as 0.</summary>
    public static bool TryDecodeDevStats(ReadOnlySpan<byte> b, out ulong devid, out DevStatCounters counters, out string? error)
    {
        devid = 0; counters = default;
        if (!SizeOk(b, BtrfsAbi.GetDevStatsSize, "btrfs_ioctl_get_dev_stats", out error)) return false;
        devid = U64(b, BtrfsAbi.DevStatsOffDevid);
        ulong nr = U64(b, BtrfsAbi.DevStatsOffNrItems);
        int n = (int)Math.Min(nr, (ulong)BtrfsAbi.DevStatValuesMax);
        Span<ulong> v = stackalloc ulong[BtrfsAbi.DevStatValuesMax];
        for (int i = 0; i < n; i++) v[i] = U64(b, BtrfsAbi.DevStatsOffValues + 8 * i);
        counters = DevStatCounters.FromArray(v);
        return true;
    }

    public static void EncodeScrubArgs(Span<byte> b, ulong devid, ulong start = 0, ulong end = ulong.MaxValue, bool readOnly = false)
    {
        b[..BtrfsAbi.ScrubArgsSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.ScrubOffDevid..], devid);
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.ScrubOffStart..], start);
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.ScrubOffEnd..], end);
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.ScrubOffFlags..], readOnly ? BtrfsAbi.ScrubFlagReadOnly : 0);
    }

    /// <summary>Decode the progress part of a btrfs_ioctl_scrub_args buffer (1024 bytes).</summary>
    public static bool TryDecodeScrubArgs(ReadOnlySpan<byte> b, out ulong devid, out ScrubProgress? progress, out string? error)
    {
        devid = 0; progress = null;
        if (!SizeOk(b, BtrfsAbi.ScrubArgsSize, "btrfs_ioctl_scrub_args", out error)) return false;
        devid = U64(b, BtrfsAbi.ScrubOffDevid);
        return TryDecodeScrubProgress(b.Slice(BtrfsAbi.ScrubOffProgress, BtrfsAbi.ScrubProgressSize), out progress, out error);
    }

    /// <summary>Decode struct btrfs_scrub_progress (120 bytes, offsets relative to the progress struct).</summary>
    public static bool TryDecodeScrubProgress(ReadOnlySpan<byte> p, out ScrubProgress? progress, out string? error)
    {
        progress = null;
        if (!SizeOk(p, BtrfsAbi.ScrubProgressSize, "btrfs_scrub_progress", out error)) return false;
        progress = new ScrubProgress(U64(p, 0), U64(p, 8), U64(p, 16), U64(p, 24), U64(p, 32), U64(p, 40), U64(p, 48),
            U64(p, 56), U64(p, 64), U64(p, 72), U64(p, 80), U64(p, 88), U64(p, 96), U64(p, 104), U64(p, 112));
        return true;
    }

    /// <summary>Fill btrfs_ioctl_logical_ino_args; <paramref name="containerAddress"/> is the user pointer of the output buffer.</summary>
    public static void EncodeLogicalInoArgs(Span<byte> b, ulong logical, ulong containerSize, ulong containerAddress, ulong flags)
    {
        b[..BtrfsAbi.LogicalInoArgsSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.LogicalInoOffLogical..], logical);
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.LogicalInoOffSize..], containerSize);
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.LogicalInoOffFlags..], flags);
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.LogicalInoOffInodes..], containerAddress);
    }

    public static void EncodeInoPathArgs(Span<byte> b, ulong inum, ulong containerSize, ulong containerAddress)
    {
        b[..BtrfsAbi.InoPathArgsSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.InoPathOffInum..], inum);
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.InoPathOffSize..], containerSize);
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.InoPathOffFspath..], containerAddress);
    }

    private static bool ContainerHeader(ReadOnlySpan<byte> c, string what, out uint elemCnt, out uint elemMissed, out uint bytesMissing, out string? error)
    {
        elemCnt = elemMissed = bytesMissing = 0;
        if (!SizeOk(c, BtrfsAbi.DataContainerHeaderSize, what, out error)) return false;
        bytesMissing = U32(c, 4);
        elemCnt = U32(c, 8);
        elemMissed = U32(c, 12);
        return true;
    }

    /// <summary>Decode the btrfs_data_container of LOGICAL_INO: elem_cnt u64 values, read as (inum, offset, root) triples.</summary>
    public static bool TryDecodeLogicalIno(ReadOnlySpan<byte> c, out LogicalInoResult? result, out string? error)
    {
        result = null;
        if (!ContainerHeader(c, "LOGICAL_INO btrfs_data_container", out uint cnt, out uint missed, out uint bytesMissing, out error)) return false;
        long avail = (c.Length - BtrfsAbi.DataContainerHeaderSize) / 8;
        if (cnt > avail) { error = $"LOGICAL_INO btrfs_data_container: elem_cnt {cnt} exceeds the {avail} values the {c.Length}-byte buffer holds"; return false; }
        if (cnt % 3 != 0) { error = $"LOGICAL_INO btrfs_data_container: elem_cnt {cnt} is not a multiple of 3"; return false; }
        var refs = new List<LogicalInoRef>((int)(cnt / 3));
        for (int i = 0; i < cnt; i += 3)
        {
            int off = BtrfsAbi.DataContainerHeaderSize + 8 * i;
            refs.Add(new LogicalInoRef(U64(c, off), U64(c, off + 8), U64(c, off + 16)));
        }
        result = new LogicalInoResult(refs, missed, bytesMissing);
        return true;
    }

    /// <summary>Decode the btrfs_data_container of INO_PATHS: val[i] is a byte offset from &amp;val[0] to a NUL-terminated path.</summary>
    public static bool TryDecodeInoPaths(ReadOnlySpan<byte> c, out InoPathsResult? result, out string? error)
    {
        result = null;
        if (!ContainerHeader(c, "INO_PATHS btrfs_data_container", out uint cnt, out uint missed, out uint bytesMissing, out error)) return false;
        var vals = c[BtrfsAbi.DataContainerHeaderSize..];
        long avail = vals.Length / 8;
        if (cnt > avail) { error = $"INO_PATHS btrfs_data_container: elem_cnt {cnt} exceeds the {avail} values the {c.Length}-byte buffer holds"; return false; }
        var paths = new List<string>((int)cnt);
        for (int i = 0; i < cnt; i++)
        {
            ulong rel = U64(vals, 8 * i);
            if (rel < (ulong)cnt * 8 || rel >= (ulong)vals.Length)
            {
                error = $"INO_PATHS btrfs_data_container: path {i} offset {rel} is outside the string area [{(ulong)cnt * 8}, {vals.Length})";
                return false;
            }
            var s = vals[(int)rel..];
            int nul = s.IndexOf((byte)0);
            if (nul < 0) { error = $"INO_PATHS btrfs_data_container: path {i} at offset {rel} is not NUL-terminated"; return false; }
            paths.Add(PathBytes.Decode(s[..nul]));
        }
        result = new InoPathsResult(paths, missed, bytesMissing);
        return true;
    }

    public static void EncodeInoLookupRequest(Span<byte> b, ulong treeId, ulong objectId)
    {
        b[..BtrfsAbi.InoLookupArgsSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.InoLookupOffTreeId..], treeId);
        BinaryPrimitives.WriteUInt64LittleEndian(b[BtrfsAbi.InoLookupOffObjectId..], objectId);
    }

    public static bool TryDecodeInoLookupTreeId(ReadOnlySpan<byte> b, out ulong treeId, out string? error)
    {
        treeId = 0;
        if (!SizeOk(b, BtrfsAbi.InoLookupArgsSize, "btrfs_ioctl_ino_lookup_args", out error)) return false;
        treeId = U64(b, BtrfsAbi.InoLookupOffTreeId);
        return true;
    }

    /// <summary>
    /// Parse sysfs devinfo/&lt;id&gt;/error_stats ("write_errs 0\nread_errs 0\n..."). Unknown keys are ignored;
    /// missing keys or a malformed number give false with a diagnostic.
    /// </summary>
    public static bool TryParseErrorStats(string? text, out DevStatCounters counters, out string? error)
    {
        counters = default;
        error = null;
        if (text is null) { error = "error_stats: no content"; return false; }
        Span<ulong> v = stackalloc ulong[BtrfsAbi.DevStatValuesMax];
        Span<bool> seen = stackalloc bool[BtrfsAbi.DevStatValuesMax];
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0) continue;
            int sp = line.IndexOf(' ');
            if (sp <= 0) { error = $"error_stats: malformed line \"{Printable(line)}\""; return false; }
            var key = line[..sp];
            int idx = Array.IndexOf(DevStatNames.Sysfs, key);
            if (idx < 0) continue;
            if (!ulong.TryParse(line.AsSpan(sp + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong n))
            { error = $"error_stats: bad value in \"{Printable(line)}\""; return false; }
            v[idx] = n; seen[idx] = true;
        }
        for (int i = 0; i < seen.Length; i++)
            if (!seen[i]) { error = $"error_stats: missing {DevStatNames.Sysfs[i]}"; return false; }
        counters = DevStatCounters.FromArray(v);
        return true;
    }

    internal static string CString(ReadOnlySpan<byte> b)
    {
        int nul = b.IndexOf((byte)0);
        return PathBytes.Decode(nul < 0 ? b : b[..nul]);
    }

    private static string Printable(string s)
    {
        var sb = new StringBuilder(Math.Min(s.Length, 80));
        foreach (char ch in s.Length > 80 ? s[..80] : s) sb.Append(char.IsControl(ch) ? '?' : ch);
        return sb.ToString();
    }
}

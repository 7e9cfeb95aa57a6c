using System.Buffers.Binary;
using FsHealer.Text;

namespace FsHealer.Mounts;

/// <summary>A decoded struct statmount. Only fields whose mask bit is set are filled; others stay null/0.</summary>
public sealed class StatmountInfo
{
    public uint Size { get; init; }
    public ulong Mask { get; init; }
    public uint? SbDevMajor { get; init; }
    public uint? SbDevMinor { get; init; }
    public ulong? SbMagic { get; init; }
    public uint? SbFlags { get; init; }
    public string? FsType { get; init; }
    public ulong? MntId { get; init; }
    public ulong? MntParentId { get; init; }
    public uint? MntIdOld { get; init; }
    public uint? MntParentIdOld { get; init; }
    public ulong? MntAttr { get; init; }
    public ulong? MntPropagation { get; init; }
    public ulong? MntPeerGroup { get; init; }
    public ulong? MntMaster { get; init; }
    public ulong? PropagateFrom { get; init; }
    public string? MntRoot { get; init; }
    public string? MntPoint { get; init; }
    public ulong? MntNsId { get; init; }
    public string? MntOpts { get; init; }
    public string? FsSubtype { get; init; }
    public string? SbSource { get; init; }
    public IReadOnlyList<string>? OptArray { get; init; }
    public IReadOnlyList<string>? OptSecArray { get; init; }
    public ulong? SupportedMask { get; init; }
    public IReadOnlyList<string>? UidMap { get; init; }
    public IReadOnlyList<string>? GidMap { get; init; }

    public bool Has(ulong bit) => (Mask & bit) == bit;

    /// <summary>The mount model. <paramref name="requestedId"/> fills the id when MNT_BASIC was not returned.</summary>
    public MountEntry ToMountEntry(ulong requestedId = 0) => new()
    {
        UniqueId = MntId ?? requestedId,
        ParentUniqueId = MntParentId ?? 0,
        LegacyId = MntIdOld ?? 0,
        ParentLegacyId = MntParentIdOld ?? 0,
        DevMajor = SbDevMajor ?? 0,
        DevMinor = SbDevMinor ?? 0,
        HasDev = SbDevMajor.HasValue,
        SbMagic = SbMagic ?? 0,
        SbFlags = SbFlags ?? 0,
        FsType = FsType ?? "",
        FsSubtype = FsSubtype ?? "",
        Source = SbSource ?? "",
        MountPoint = MntPoint ?? "",
        MntRoot = MntRoot ?? "",
        MntAttr = MntAttr ?? 0,
        MountOptions = MntAttr.HasValue ? StatmountAbi.MountOptionsFromAttr(MntAttr.Value) : "",
        SuperOptions = MntOpts ?? "",
        MntNsId = MntNsId ?? 0,
    };
}

/// <summary>
/// Decodes the buffer filled by statmount(2): the 512-byte fixed part plus the string area. Every string offset is
/// checked against the size the kernel reported (and the bytes actually present); a field with a bad offset or no
/// terminating NUL is dropped with a diagnostic. Strings (mount point, root, source, type, options) are decoded
/// byte-exactly (<see cref="PathBytes.Decode"/>): a mount point that is not UTF-8 keeps its bytes. Never throws.
/// </summary>
public static class StatmountDecoder
{
    /// <summary>Upper bound for counted string arrays, whatever the count field says.</summary>
    public const int MaxArrayEntries = 4096;

    public static StatmountInfo? Decode(ReadOnlySpan<byte> buf, List<string> diagnostics)
    {
        if (buf.Length < StatmountAbi.FixedSize)
        {
            diagnostics.Add($"statmount: buffer of {buf.Length} bytes is shorter than the {StatmountAbi.FixedSize}-byte fixed part");
            return null;
        }
        uint size = U32(buf, StatmountAbi.OffSize);
        int end = buf.Length;
        if (size < StatmountAbi.FixedSize)
        {
            diagnostics.Add($"statmount: size field {size} is smaller than the fixed part ({StatmountAbi.FixedSize}); ignoring strings");
            end = StatmountAbi.FixedSize;
        }
        else if (size > (uint)buf.Length)
            diagnostics.Add($"statmount: size field {size} exceeds the {buf.Length} bytes returned; strings limited to the buffer");
        else
            end = (int)size;
        var strArea = buf[StatmountAbi.FixedSize..end];
        ulong mask = U64(buf, StatmountAbi.OffMask);
        bool Has(ulong b) => (mask & b) == b;

        static string? Str(ReadOnlySpan<byte> buf, ReadOnlySpan<byte> strArea, ulong mask, List<string> diagnostics, string field, ulong bit, int off)
        {
            if ((mask & bit) != bit) return null;
            uint o = U32(buf, off);
            if (o >= (uint)strArea.Length)
            {
                diagnostics.Add($"statmount: {field} offset {o} is outside the string area ({strArea.Length} bytes)");
                return null;
            }
            int nul = strArea[(int)o..].IndexOf((byte)0);
            if (nul < 0)
            {
                diagnostics.Add($"statmount: {field} at offset {o} has no terminating NUL within the string area");
                return null;
            }
            return PathBytes.Decode(strArea.Slice((int)o, nul));
        }

        static List<string>? Arr(ReadOnlySpan<byte> buf, ReadOnlySpan<byte> strArea, ulong mask, List<string> diagnostics, string field, ulong bit, int numOff, int off)
        {
            if ((mask & bit) != bit) return null;
            uint num = U32(buf, numOff);
            uint o = U32(buf, off);
            var list = new List<string>();
            if (num == 0) return list;
            if (num > MaxArrayEntries)
            {
                diagnostics.Add($"statmount: {field} count {num} exceeds the limit {MaxArrayEntries}");
                return null;
            }
            if (o >= (uint)strArea.Length)
            {
                diagnostics.Add($"statmount: {field} offset {o} is outside the string area ({strArea.Length} bytes)");
                return null;
            }
            var rest = strArea[(int)o..];
            for (uint i = 0; i < num; i++)
            {
                int nul = rest.IndexOf((byte)0);
                if (nul < 0)
                {
                    diagnostics.Add($"statmount: {field} entry {i} of {num} runs past the string area");
                    return list;
                }
                list.Add(PathBytes.Decode(rest[..nul]));
                rest = rest[(nul + 1)..];
            }
            return list;
        }

        bool sb = Has(StatmountAbi.SB_BASIC), mb = Has(StatmountAbi.MNT_BASIC);
        return new StatmountInfo
        {
            Size = size,
            Mask = mask,
            SbDevMajor = sb ? U32(buf, StatmountAbi.OffSbDevMajor) : null,
            SbDevMinor = sb ? U32(buf, StatmountAbi.OffSbDevMinor) : null,
            SbMagic = sb ? U64(buf, StatmountAbi.OffSbMagic) : null,
            SbFlags = sb ? U32(buf, StatmountAbi.OffSbFlags) : null,
            FsType = Str(buf, strArea, mask, diagnostics, "fs_type", StatmountAbi.FS_TYPE, StatmountAbi.OffFsType),
            MntId = mb ? U64(buf, StatmountAbi.OffMntId) : null,
            MntParentId = mb ? U64(buf, StatmountAbi.OffMntParentId) : null,
            MntIdOld = mb ? U32(buf, StatmountAbi.OffMntIdOld) : null,
            MntParentIdOld = mb ? U32(buf, StatmountAbi.OffMntParentIdOld) : null,
            MntAttr = mb ? U64(buf, StatmountAbi.OffMntAttr) : null,
            MntPropagation = mb ? U64(buf, StatmountAbi.OffMntPropagation) : null,
            MntPeerGroup = mb ? U64(buf, StatmountAbi.OffMntPeerGroup) : null,
            MntMaster = mb ? U64(buf, StatmountAbi.OffMntMaster) : null,
            PropagateFrom = Has(StatmountAbi.PROPAGATE_FROM) ? U64(buf, StatmountAbi.OffPropagateFrom) : null,
            MntRoot = Str(buf, strArea, mask, diagnostics, "mnt_root", StatmountAbi.MNT_ROOT, StatmountAbi.OffMntRoot),
            MntPoint = Str(buf, strArea, mask, diagnostics, "mnt_point", StatmountAbi.MNT_POINT, StatmountAbi.OffMntPoint),
            MntNsId = Has(StatmountAbi.MNT_NS_ID) ? U64(buf, StatmountAbi.OffMntNsId) : null,
            MntOpts = Str(buf, strArea, mask, diagnostics, "mnt_opts", StatmountAbi.MNT_OPTS, StatmountAbi.OffMntOpts),
            FsSubtype = Str(buf, strArea, mask, diagnostics, "fs_subtype", StatmountAbi.FS_SUBTYPE, StatmountAbi.OffFsSubtype),
            SbSource = Str(buf, strArea, mask, diagnostics, "sb_source", StatmountAbi.SB_SOURCE, StatmountAbi.OffSbSource),
            OptArray = Arr(buf, strArea, mask, diagnostics, "opt_array", StatmountAbi.OPT_ARRAY, StatmountAbi.OffOptNum, StatmountAbi.OffOptArray),
            OptSecArray = Arr(buf, strArea, mask, diagnostics, "opt_sec_array", StatmountAbi.OPT_SEC_ARRAY, StatmountAbi.OffOptSecNum, StatmountAbi.OffOptSecArray),
            SupportedMask = Has(StatmountAbi.SUPPORTED_MASK) ? U64(buf, StatmountAbi.OffSupportedMask) : null,
            UidMap = Arr(buf, strArea, mask, diagnostics, "mnt_uidmap", StatmountAbi.MNT_UIDMAP, StatmountAbi.OffUidmapNum, StatmountAbi.OffUidmap),
            GidMap = Arr(buf, strArea, mask, diagnostics, "mnt_gidmap", StatmountAbi.MNT_GIDMAP, StatmountAbi.OffGidmapNum, StatmountAbi.OffGidmap),
        };
    }

    private static uint U32(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadUInt32LittleEndian(b[off..]);
    private static ulong U64(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadUInt64LittleEndian(b[off..]);
}

using System.Buffers.Binary;
using FsHealer.Text;

namespace FsHealer.Xfs;

/// <summary>struct xfs_handle (24 bytes): fsid, fid_len = 14, fid_pad, gen, ino.</summary>
public readonly record struct XfsHandle(ulong Fsid, uint Gen, ulong Ino)
{
    public const int Size = 24;
    public void Encode(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(b, Fsid);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], 14);
        BinaryPrimitives.WriteUInt16LittleEndian(b[10..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], Gen);
        BinaryPrimitives.WriteUInt64LittleEndian(b[16..], Ino);
    }

    public static bool TryDecode(ReadOnlySpan<byte> b, out XfsHandle h)
    {
        h = default;
        if (b.Length < Size || BinaryPrimitives.ReadUInt16LittleEndian(b[8..]) != 14) return false;
        h = new XfsHandle(BinaryPrimitives.ReadUInt64LittleEndian(b), BinaryPrimitives.ReadUInt32LittleEndian(b[12..]),
            BinaryPrimitives.ReadUInt64LittleEndian(b[16..]));
        return true;
    }
}

/// <summary>One parent record from XFS_IOC_GETPARENTS(_BY_HANDLE).</summary>
public readonly record struct ParentRecord(XfsHandle Parent, string Name);

/// <summary>Decoder for the GETPARENTS output buffer (struct xfs_getparents_rec list).</summary>
public static class GetParentsDecoder
{
    public const ushort OFlagRoot = 1, OFlagDone = 2;

    /// <summary>Records in the buffer: each is parent handle (24) + reclen (4) + reserved (4) + NUL-terminated
    /// name; iterate by reclen while inside the buffer. An empty first name means "no parents". Never throws.</summary>
    public static List<ParentRecord> Decode(ReadOnlySpan<byte> buf)
    {
        var list = new List<ParentRecord>();
        int off = 0;
        while (off + 32 < buf.Length)
        {
            var rec = buf[off..];
            uint reclen = BinaryPrimitives.ReadUInt32LittleEndian(rec[24..]);
            if (reclen < 33 || reclen > (uint)rec.Length) break;
            var nameArea = rec[32..(int)reclen];
            int nul = nameArea.IndexOf((byte)0);
            if (nul <= 0) break;
            if (!XfsHandle.TryDecode(rec, out var parent)) break;
            list.Add(new ParentRecord(parent, PathBytes.Decode(nameArea[..nul])));
            off += (int)reclen;
        }
        return list;
    }
}

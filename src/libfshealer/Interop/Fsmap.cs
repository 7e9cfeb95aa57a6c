using System.Buffers.Binary;
using FsHealer.Media;

namespace FsHealer.Interop;

/// <summary>FS_IOC_GETFSMAP (0xc0c0583b; XFS and ext4): the physical space map. struct fsmap_head is 64 bytes plus
/// two 64-byte keys; each struct fsmap record is 64 bytes.</summary>
public static unsafe class Fsmap
{
    public const uint FS_IOC_GETFSMAP = 0xC0C0583B;
    private const int HeadSize = 64, RecSize = 64;

    /// <summary>All records (every device of the fs). Returns 0 or errno (ENOTTY/EOPNOTSUPP: not supported).</summary>
    public static int GetAll(SafeFd fd, List<FsmapRecord> records, int limit = 10_000_000, int batch = 256)
    {
        uint Batch = (uint)Math.Clamp(batch, 1, 4096);
        int size = HeadSize + 2 * RecSize + (int)Batch * RecSize;
        var buf = new byte[size];
        var low = new byte[RecSize];
        while (records.Count < limit)
        {
            Array.Clear(buf);
            var s = buf.AsSpan();
            BinaryPrimitives.WriteUInt32LittleEndian(s[8..], Batch);
            low.CopyTo(s[HeadSize..]);
            s.Slice(HeadSize + RecSize, 32).Fill(0xFF); // high key: device, flags, physical, owner, offset all ones
            int rc;
            fixed (byte* p = buf) rc = Libc.ioctl(fd, FS_IOC_GETFSMAP, p);
            if (rc != 0) return Libc.LastErrno;
            uint n = Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(s[12..]), Batch);
            if (n == 0) return 0;
            FsmapRecord last = default;
            for (int i = 0; i < n; i++)
            {
                var r = s.Slice(HeadSize + 2 * RecSize + i * RecSize, RecSize);
                last = new FsmapRecord(BinaryPrimitives.ReadUInt32LittleEndian(r), BinaryPrimitives.ReadUInt32LittleEndian(r[4..]),
                    (long)BinaryPrimitives.ReadUInt64LittleEndian(r[8..]), BinaryPrimitives.ReadUInt64LittleEndian(r[16..]),
                    (long)BinaryPrimitives.ReadUInt64LittleEndian(r[24..]), (long)BinaryPrimitives.ReadUInt64LittleEndian(r[32..]));
                records.Add(last);
            }
            if ((last.Flags & FsmapRecord.OfLast) != 0) return 0;
            // advance: the next low key is the last record returned (fsmap_advance)
            s.Slice(HeadSize + 2 * RecSize + (int)(n - 1) * RecSize, RecSize).CopyTo(low);
        }
        return 0;
    }
}

using System.Buffers.Binary;
using FsHealer.Media;

namespace FsHealer.Interop;

/// <summary>FS_IOC_FIEMAP (0xc020660b): a file's extents. struct fiemap is 32 bytes, each fiemap_extent 56 bytes.</summary>
public static unsafe class Fiemap
{
    public const uint FS_IOC_FIEMAP = 0xC020660B;
    public const uint FlagSync = 1, ExtentLast = 1, ExtentUnknown = 2, ExtentDelalloc = 4, ExtentDataInline = 0x200;
    private const int HeadSize = 32, ExtSize = 56, Batch = 128;

    /// <summary>Extents with a known physical location; returns 0 or errno.</summary>
    public static int Extents(SafeFd fd, ulong ino, string? path, List<FileExtent> into)
    {
        var buf = new byte[HeadSize + Batch * ExtSize];
        ulong start = 0;
        for (int guard = 0; guard < 100_000; guard++)
        {
            Array.Clear(buf);
            var s = buf.AsSpan();
            BinaryPrimitives.WriteUInt64LittleEndian(s, start);
            BinaryPrimitives.WriteUInt64LittleEndian(s[8..], ulong.MaxValue - start);
            BinaryPrimitives.WriteUInt32LittleEndian(s[16..], FlagSync);
            BinaryPrimitives.WriteUInt32LittleEndian(s[24..], Batch);
            int rc;
            fixed (byte* p = buf) rc = Libc.ioctl(fd, FS_IOC_FIEMAP, p);
            if (rc != 0) return Libc.LastErrno;
            uint n = Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(s[20..]), Batch);
            if (n == 0) return 0;
            bool last = false;
            for (int i = 0; i < n; i++)
            {
                var e = s.Slice(HeadSize + i * ExtSize, ExtSize);
                ulong logical = BinaryPrimitives.ReadUInt64LittleEndian(e), physical = BinaryPrimitives.ReadUInt64LittleEndian(e[8..]),
                    length = BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
                uint flags = BinaryPrimitives.ReadUInt32LittleEndian(e[40..]);
                if ((flags & (ExtentUnknown | ExtentDelalloc | ExtentDataInline)) == 0 && length > 0)
                    into.Add(new FileExtent(ino, path, (long)logical, (long)physical, (long)length));
                start = logical + length;
                last |= (flags & ExtentLast) != 0;
            }
            if (last) return 0;
        }
        return 0;
    }
}

using System.Runtime.InteropServices;
using FsHealer.Media;
using FsHealer.Text;

namespace FsHealer.Interop;

/// <summary>A block device opened O_RDONLY|O_DIRECT: size (BLKGETSIZE64), logical sector size (BLKSSZGET) and
/// aligned pread(2) through a page-aligned bounce buffer (O_DIRECT needs aligned buffers).</summary>
public sealed unsafe partial class BlockDevice : IBlockReader, IDisposable
{
    public const uint BLKGETSIZE64 = 0x80081272, BLKSSZGET = 0x1268;
    private readonly SafeFd _fd;
    private byte* _buf;
    private int _bufLen;

    public string Path { get; }
    public long Size { get; }
    public int SectorSize { get; }

    [LibraryImport("libc", EntryPoint = "pread64", SetLastError = true)]
    private static partial nint pread(SafeFd fd, void* buf, nuint count, long offset);

    private BlockDevice(string path, SafeFd fd, long size, int sector) { Path = path; _fd = fd; Size = size; SectorSize = sector; }

    /// <summary>Open for direct reads; null with a message naming the device, syscall and errno on failure.</summary>
    public static BlockDevice? Open(string path, out string? error)
    {
        error = null;
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_DIRECT, out int errno);
        if (fd.IsInvalid) { error = $"open({path}, O_DIRECT): {Errno.Name(errno)}: {Errno.Message(errno)}"; return null; }
        ulong size = 0;
        int sector = 0;
        if (Libc.ioctl(fd, BLKGETSIZE64, &size) != 0)
        {
            int e = Libc.LastErrno;
            fd.Dispose();
            error = $"ioctl({path}, BLKGETSIZE64): {Errno.Name(e)}: {Errno.Message(e)}";
            return null;
        }
        if (Libc.ioctl(fd, BLKSSZGET, &sector) != 0 || sector < 512) sector = 512;
        return new BlockDevice(path, fd, (long)size, sector);
    }

    public int Read(long offset, Span<byte> buffer)
    {
        if (offset >= Size) return 0;
        int len = (int)Math.Min(buffer.Length, Size - offset);
        if (_bufLen < len)
        {
            if (_buf != null) NativeMemory.AlignedFree(_buf);
            _bufLen = (len + 4095) / 4096 * 4096;
            _buf = (byte*)NativeMemory.AlignedAlloc((nuint)_bufLen, 4096);
        }
        while (true)
        {
            nint n = pread(_fd, _buf, (nuint)len, offset);
            if (n < 0)
            {
                int e = Libc.LastErrno;
                if (e == Errno.EINTR) continue;
                return -e;
            }
            new ReadOnlySpan<byte>(_buf, (int)n).CopyTo(buffer);
            return (int)n;
        }
    }

    public void Dispose()
    {
        _fd.Dispose();
        if (_buf != null) { NativeMemory.AlignedFree(_buf); _buf = null; }
    }
}

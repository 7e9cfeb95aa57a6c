using FsHealer.Media;
using FsHealer.Xfs;

namespace FsHealer.Interop;

/// <summary>XFS_IOC_VERIFY_MEDIA (Linux 7.0, fs/xfs/xfs_verify_media.c) on an fd of the filesystem.</summary>
public sealed unsafe class XfsVerifyMedia(SafeFd fd) : IVerifyMediaIoctl
{
    public int Call(ref VerifyMediaRequest request)
    {
        byte* buf = stackalloc byte[VerifyMediaRequest.Size];
        var span = new Span<byte>(buf, VerifyMediaRequest.Size);
        request.Encode(span);
        int rc = Libc.ioctl(fd, XfsAbi.IocVerifyMedia, buf); // EINTR (fatal signal) is reported, not retried
        if (rc != 0) return Libc.LastErrno;
        request = VerifyMediaRequest.Decode(span);
        return 0;
    }
}

using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;

namespace FsHealer.Interop;

/// <summary>An <see cref="IRecordSource"/> over a file descriptor: the health monitor fd, a pipe, or a file.</summary>
public sealed class FdRecordSource(SafeFd fd) : IRecordSource
{
    public SafeFd Fd { get; } = fd;
    public int Read(Span<byte> buffer) => Libc.Read(Fd, buffer);
}

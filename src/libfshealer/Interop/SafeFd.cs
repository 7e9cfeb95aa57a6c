using System.Runtime.InteropServices;

namespace FsHealer.Interop;

/// <summary>An owned file descriptor. fd 0 is a valid descriptor; only -1 is invalid.</summary>
public sealed class SafeFd : SafeHandle
{
    public SafeFd() : base(-1, ownsHandle: true) { }
    public SafeFd(int fd, bool ownsHandle = true) : base(-1, ownsHandle) => SetHandle(fd);

    public override bool IsInvalid => handle == -1;
    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;

    public static SafeFd Invalid => new();
}

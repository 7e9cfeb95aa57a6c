using System.Runtime.InteropServices;

namespace FsHealer.Interop;

/// <summary>madvise(2) and glibc's malloc_trim(3): giving a settled daemon's unused pages back.</summary>
public static unsafe partial class Memory
{
    public const int MADV_DONTNEED = 4;

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    public static partial int madvise(nint addr, nuint length, int advice);

    /// <summary>glibc only (musl has no malloc_trim): returns 1 when memory was released.</summary>
    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    public static partial int malloc_trim(nuint pad);
}

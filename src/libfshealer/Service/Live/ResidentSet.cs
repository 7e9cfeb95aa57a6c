using FsHealer.Service;
using FsHealer.Text;
using FsHealer.Interop;

namespace FsHealer.Service.Live;

/// <summary>What <see cref="ResidentSet.ReleaseCleanFilePages"/> did: how many mappings it dropped, how many KiB of
/// them were resident before, and the first failure (syscall, range, errno) if any.</summary>
public readonly record struct ReleaseResult(int Mappings, long ResidentKiB, string? Error);

/// <summary>Drop this process's mappings of clean file pages (program text, read-only data) once start-up has
/// settled; the selection and why it is safe are <see cref="ProcessMappings"/>'s. Also returns freed C heap
/// (SQLite's, glibc's) to the kernel.</summary>
public static class ResidentSet
{
    public static ReleaseResult ReleaseCleanFilePages(string smapsPath = "/proc/self/smaps")
    {
        List<Mapping> mappings;
        try { mappings = ProcessMappings.ParseSmaps(File.ReadLines(smapsPath)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return new(0, 0, $"read {smapsPath}: {e.Message}"); }
        int count = 0; long kib = 0; string? error = null;
        foreach (var m in ProcessMappings.Releasable(mappings))
        {
            if (Memory.madvise((nint)m.Start, (nuint)m.Length, Memory.MADV_DONTNEED) != 0)
            {
                int errno = Libc.LastErrno;   // EINVAL for a range that changed since the read (unmapped, locked): skip it
                error ??= $"madvise({m.Start:x}-{m.End:x} {m.Path}, MADV_DONTNEED): {Errno.Message(errno)}";
                continue;
            }
            count++; kib += m.RssKiB;
        }
        TrimCHeap();
        return new(count, kib, error);
    }

    /// <summary>malloc_trim(0) where the C library has it (glibc); a no-op elsewhere.</summary>
    public static void TrimCHeap()
    {
        try { Memory.malloc_trim(0); }
        catch (EntryPointNotFoundException) { }
    }
}

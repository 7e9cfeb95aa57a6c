using FsHealer.Core.Mounts;
using FsHealer.Linux.Interop;

namespace FsHealer.Linux.Mounts;

public static class MountSources
{
    /// <summary>
    /// The fanotify watcher when the kernel supports mount events and listmount; otherwise (ENOSYS, EINVAL) the
    /// mountinfo fallback. Other errors (EPERM, a bad namespace path) are returned, not hidden by the fallback.
    /// </summary>
    public static IMountSource? Open(string? nsPath, List<string> diagnostics, out int errno)
    {
        var f = FanotifyMountSource.Create(nsPath, out errno, out var err);
        if (f is not null) return f;
        if (errno is not (Interop.Mounts.ENOSYS or Interop.Mounts.EINVAL))
        {
            diagnostics.Add(err ?? "fanotify mount watcher failed");
            return null;
        }
        diagnostics.Add($"{err}; falling back to polling {MountTable.MountInfoPath}");
        if (nsPath is not null && nsPath != FanotifyMountSource.DefaultNamespace)
            diagnostics.Add($"mountinfo fallback watches this process's namespace, not {nsPath}");
        return MountInfoSource.Create(out errno);
    }
}

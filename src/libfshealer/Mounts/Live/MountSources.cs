using FsHealer.Mounts;
using FsHealer.Interop;
using FsHealer.Text;

namespace FsHealer.Mounts.Live;

public static class MountSources
{
    /// <summary>
    /// The fanotify watcher when the kernel supports mount events and listmount; otherwise (ENOSYS, EINVAL) the
    /// mountinfo fallback. Other errors (EPERM, a bad namespace path) are returned, not hidden by the fallback; and a
    /// foreign namespace (<paramref name="nsPath"/> other than /proc/self/ns/mnt) never falls back, because
    /// /proc/self/mountinfo would describe the wrong namespace (and EINVAL there usually means "not a mount namespace").
    /// </summary>
    public static IMountSource? Open(string? nsPath, List<string> diagnostics, out int errno)
    {
        var f = FanotifyMountSource.Create(nsPath, out errno, out var err);
        if (f is not null) return f;
        bool ownNamespace = nsPath is null || nsPath == FanotifyMountSource.DefaultNamespace;
        if (!ownNamespace || errno is not (Errno.ENOSYS or Errno.EINVAL))
        {
            diagnostics.Add(err ?? "fanotify mount watcher failed");
            return null;
        }
        diagnostics.Add($"{err}; falling back to polling {MountTable.MountInfoPath}");
        var src = MountInfoSource.Create(out errno);
        if (src is null) diagnostics.Add($"{MountTable.MountInfoPath}: {Errno.Message(errno)}");
        return src;
    }
}

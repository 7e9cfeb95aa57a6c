using FsHealer.Mounts;
using FsHealer.Text;
using FsHealer.Interop;

namespace FsHealer.Mounts.Live;

/// <summary>
/// Fallback watcher for kernels without fanotify mount events or listmount: /proc/self/mountinfo is re-read whenever
/// poll() reports POLLPRI|POLLERR on it (the kernel's "mount table changed" signal). Every change is delivered as a
/// full snapshot; the tracker's reconciliation turns that into exact target events. Mounts are keyed by legacy id.
/// </summary>
public sealed class MountInfoSource : IMountSource
{
    private readonly SafeFd _fd;
    private readonly string _path;
    public string Kind => "mountinfo";

    private MountInfoSource(SafeFd fd, string path) { _fd = fd; _path = path; }

    public static MountInfoSource? Create(out int errno, string path = MountTable.MountInfoPath)
    {
        var fd = Libc.Open(path, Libc.O_RDONLY, out errno);
        return fd.IsInvalid ? null : new MountInfoSource(fd, path);
    }

    public MountChange Snapshot(List<string> diagnostics)
    {
        var all = new List<MountEntry>();
        all.AddRange(MountInfoParser.ParseAll(ReadAllFromFd(diagnostics), diagnostics));
        return MountChange.Snapshot(all);
    }

    /// <summary>The file's bytes (mount points are bytes: they are parsed without decoding them as text first).</summary>
    private byte[] ReadAllFromFd(List<string> diagnostics)
    {
        // reading through the polled fd re-arms the POLLPRI notification
        long off = Libc.Seek(_fd, 0, Libc.SEEK_SET);
        if (off < 0) { diagnostics.Add($"lseek({_path}): {Errno.Message((int)-off)}"); return []; }
        var bytes = Libc.ReadToEnd(_fd, out int e);
        if (bytes is null) { diagnostics.Add($"read({_path}): {Errno.Name(e)}: {Errno.Message(e)}"); return []; }
        return bytes;
    }

    public int WaitChanges(int timeoutMs, List<MountChange> changes, List<string> diagnostics)
    {
        int rev = Poll.Wait(_fd, Poll.POLLPRI, timeoutMs);
        if (rev < 0) return -rev;
        if (rev == 0) return 0;
        changes.Add(Snapshot(diagnostics));
        return 0;
    }

    public void Dispose() => _fd.Dispose();
}

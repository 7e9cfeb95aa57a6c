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
        string text = ReadAllFromFd(diagnostics);
        all.AddRange(MountInfoParser.ParseAll(text, diagnostics));
        return MountChange.Snapshot(all);
    }

    private string ReadAllFromFd(List<string> diagnostics)
    {
        // reading through the polled fd re-arms the POLLPRI notification
        int e = Interop.MountSyscalls.Rewind(_fd);
        if (e != 0) { diagnostics.Add($"lseek({_path}): {Errno.Message(e)}"); return ""; }
        var ms = new MemoryStream();
        var buf = new byte[65536];
        while (true)
        {
            int n = Libc.Read(_fd, buf);
            if (n < 0) { diagnostics.Add($"read({_path}): {Errno.Name(-n)}: {Errno.Message(-n)}"); break; }
            if (n == 0) break;
            ms.Write(buf, 0, n);
        }
        return System.Text.Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length);
    }

    public int WaitChanges(int timeoutMs, List<MountChange> changes, List<string> diagnostics)
    {
        int rev = Interop.MountSyscalls.Poll(_fd, Interop.MountSyscalls.POLLPRI, timeoutMs);
        if (rev < 0) return rev == -Interop.MountSyscalls.EINTR ? 0 : -rev;
        if (rev == 0) return 0;
        changes.Add(Snapshot(diagnostics));
        return 0;
    }

    public void Dispose() => _fd.Dispose();
}

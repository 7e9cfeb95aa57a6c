using FsHealer.Fanotify;
using FsHealer.Mounts;
using FsHealer.Text;
using FsHealer.Interop;

namespace FsHealer.Mounts.Live;

/// <summary>
/// Mount watcher on fanotify mount events (6.15): a FAN_REPORT_MNT group with a FAN_MARK_MNTNS mark for
/// FAN_MNT_ATTACH|FAN_MNT_DETACH on a mount-namespace file. ATTACH (and ATTACH|DETACH = move) is resolved with
/// statmount; a mount that vanished meanwhile (ENOENT) is a removal. FAN_Q_OVERFLOW triggers a full listmount rescan.
/// Holds only the fanotify fd (and, for a foreign namespace, the namespace fd): no fd on any watched filesystem.
/// </summary>
public sealed class FanotifyMountSource : IMountSource
{
    public const string DefaultNamespace = "/proc/self/ns/mnt";
    private readonly SafeFd _group;
    private readonly SafeFd? _ns; // kept only for a foreign namespace; 0 in requests = current namespace
    private readonly byte[] _buf = new byte[64 * 1024];

    public string Kind => "fanotify";
    public string NamespacePath { get; }
    public long Overflows { get; private set; }

    private FanotifyMountSource(SafeFd group, SafeFd? ns, string nsPath) { _group = group; _ns = ns; NamespacePath = nsPath; }

    /// <summary>Set up the watcher. On failure returns null with the errno and a message naming the failing call
    /// (EINVAL/ENOSYS mean the kernel lacks mount events: use <see cref="MountInfoSource"/>).</summary>
    public static FanotifyMountSource? Create(string? nsPath, out int errno, out string? error)
    {
        nsPath ??= DefaultNamespace;
        error = null;
        var group = FanotifySyscalls.Init(FanotifyAbi.FAN_CLASS_NOTIF | FanotifyAbi.FAN_REPORT_MNT | FanotifyAbi.FAN_NONBLOCK, Libc.O_RDONLY, out errno);
        if (group.IsInvalid) { error = $"fanotify_init(FAN_REPORT_MNT): {Errno.Name(errno)}: {Errno.Message(errno)}"; return null; }
        var ns = Libc.Open(nsPath, Libc.O_RDONLY, out errno);
        if (ns.IsInvalid)
        {
            error = $"{nsPath}: {Errno.Message(errno)}";
            group.Dispose();
            return null;
        }
        if (ns.Fd == 0)
        {
            // mnt_id_req.mnt_ns_fd == 0 means "our own namespace": a foreign one must not land on fd 0
            error = $"{nsPath}: got file descriptor 0 for the mount namespace";
            errno = Errno.EBADF;
            ns.Dispose(); group.Dispose();
            return null;
        }
        errno = FanotifySyscalls.Mark(group, FanotifyAbi.FAN_MARK_ADD | FanotifyAbi.FAN_MARK_MNTNS,
            FanotifyAbi.FAN_MNT_ATTACH | FanotifyAbi.FAN_MNT_DETACH, ns);
        if (errno != 0)
        {
            error = $"fanotify_mark(FAN_MARK_MNTNS, {nsPath}): {Errno.Name(errno)}: {Errno.Message(errno)}";
            ns.Dispose(); group.Dispose();
            return null;
        }
        bool current = nsPath == DefaultNamespace;
        if (current) ns.Dispose();
        var src = new FanotifyMountSource(group, current ? null : ns, nsPath);
        // probe listmount so a kernel with mount events but without listmount falls back too
        errno = MountSyscalls.ListAll(out _, src._ns, batch: 1);
        if (errno != 0)
        {
            error = $"listmount: {Errno.Name(errno)}: {Errno.Message(errno)}";
            src.Dispose();
            return null;
        }
        return src;
    }

    public MountChange Snapshot(List<string> diagnostics)
    {
        var list = new List<MountEntry>();
        int e = MountTable.ReadWithStatmount(_ns, list, diagnostics);
        if (e != 0) diagnostics.Add($"listmount: {Errno.Name(e)}: {Errno.Message(e)}");
        return MountChange.Snapshot(list);
    }

    public int WaitChanges(int timeoutMs, List<MountChange> changes, List<string> diagnostics)
    {
        int rev = Poll.Wait(_group, Poll.POLLIN, timeoutMs);
        if (rev < 0) return -rev;
        if (rev == 0) return 0;
        bool rescan = false;
        var notes = new List<MountNotification>();
        for (int reads = 0; reads < 64; reads++) // bounded: a constant flood must not starve the caller
        {
            int n = Libc.Read(_group, _buf);
            if (n == -Errno.EAGAIN || n == 0) break;
            if (n < 0) { diagnostics.Add($"read(fanotify mount watcher): {Errno.Name(-n)}: {Errno.Message(-n)}"); return -n; }
            notes.AddRange(MountRecordDecoder.DecodeAll(_buf.AsSpan(0, n), diagnostics));
        }
        foreach (var m in notes)
        {
            if (m.Overflow) { rescan = true; Overflows++; continue; }
            if (rescan) continue; // the snapshot below supersedes individual events
            if (m.Attach)
            {
                int e = MountSyscalls.StatmountEntry(m.MountId, _ns, diagnostics, out var entry);
                if (e == 0 && entry is not null) changes.Add(MountChange.Upsert(entry));
                else if (e == Errno.ENOENT) changes.Add(MountChange.Remove(m.MountId));
                else diagnostics.Add($"statmount(mnt_id {m.MountId}): {Errno.Name(e)}: {Errno.Message(e)}");
            }
            else if (m.Detach) changes.Add(MountChange.Remove(m.MountId));
        }
        if (rescan)
        {
            diagnostics.Add("fanotify mount watcher: event queue overflowed (FAN_Q_OVERFLOW); rescanning the mount table");
            changes.Clear();
            changes.Add(Snapshot(diagnostics));
        }
        return 0;
    }

    /// <summary>The fds this watcher holds (for "never pin" checks).</summary>
    public IEnumerable<int> HeldFds => _ns is null ? [_group.Fd] : [_group.Fd, _ns.Fd];

    public void Dispose() { _group.Dispose(); _ns?.Dispose(); }
}

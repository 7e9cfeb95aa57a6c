using FsHealer.Mounts;
using FsHealer.Text;
using FsHealer.Interop;

namespace FsHealer.Mounts.Live;

/// <summary>
/// A description of a mounted filesystem that can be reopened on demand without pinning it (xfs_healer weak handle,
/// xfs-healer-behavior.md §5.6). Remembers the root directory's file handle, the unique mount id, the device number,
/// the filesystem UUID (when FS_IOC_GETFSUUID works), the source device and the last good path. No fd is kept.
/// </summary>
public sealed class WeakHandle
{
    public const int ESTALE = 116;
    private readonly Lock _lock = new();
    private string _path;

    public FileHandles.FileHandle RootHandle { get; }
    private ulong _mountId;
    /// <summary>Unique id of the mount last used (updated when a reopen lands on another mount of the same filesystem).</summary>
    public ulong MountId { get { lock (_lock) return _mountId; } }
    public ulong DevKey { get; }
    public string Dev => $"{DevKey >> 32}:{DevKey & 0xffffffff}";
    /// <summary>Filesystem UUID, or null when the filesystem does not report one (btrfs: ENOTTY).</summary>
    public byte[]? FsUuid { get; }
    public string Source { get; }
    public string FsType { get; }
    /// <summary>Where the filesystem was last opened successfully (updated after a move).</summary>
    public string StoredPath { get { lock (_lock) return _path; } }
    /// <summary>Which identity check rejected the last candidate ("handle", "dev", "uuid"), for diagnostics.</summary>
    public string? LastMismatch { get; private set; }
    /// <summary>How the last successful Reopen found the filesystem: "stored path", "statmount" or "mount table".</summary>
    public string? LastReopenVia { get; private set; }

    /// <summary>Override for tests and the mountinfo fallback: returns the current mount table.</summary>
    public Func<List<string>, IReadOnlyList<MountEntry>> MountTableReader { get; set; } = d => MountTable.ReadAll(d, out _);

    private WeakHandle(string path, FileHandles.FileHandle h, ulong mntId, ulong dev, byte[]? uuid, string source, string fsType)
    { _path = path; RootHandle = h; _mountId = mntId; DevKey = dev; FsUuid = uuid; Source = source; FsType = fsType; }

    /// <summary>Capture the filesystem mounted at <paramref name="path"/> (which should be its root). Returns 0 or errno;
    /// <paramref name="error"/> names the failing call.</summary>
    public static int Capture(string path, out WeakHandle? handle, out string? error)
    {
        handle = null; error = null;
        using var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_DIRECTORY, out int e);
        if (fd.IsInvalid) { error = $"{path}: open: {Errno.Message(e)}"; return e; }
        e = Identify(fd, out var h, out var mnt, out var st, out var uuid);
        if (e != 0) { error = $"{path}: name_to_handle_at/statx: {Errno.Message(e)}"; return e; }
        string source = "", fsType = "";
        var diags = new List<string>();
        if (Interop.MountSyscalls.StatmountEntry(mnt, 0, diags, out var entry, StatmountAbi.SB_SOURCE | StatmountAbi.FS_TYPE) == 0 && entry is not null)
        { source = entry.Source; fsType = entry.FsType; }
        else
        {
            foreach (var m in MountTable.ReadAll(diags, out _))
                if (m.DevKey == st.DevKey && m.MountPoint == path) { source = m.Source; fsType = m.FsType; break; }
        }
        handle = new WeakHandle(path, h, mnt, st.DevKey, uuid, source, fsType);
        return 0;
    }

    private static int Identify(SafeFd fd, out FileHandles.FileHandle h, out ulong mntId, out Statx.Result st, out byte[]? uuid)
    {
        uuid = null; st = default; mntId = 0;
        int e = FileHandles.NameToHandle(fd.Fd, "", FileHandles.AT_EMPTY_PATH | FileHandles.AT_HANDLE_MNT_ID_UNIQUE, out h, out mntId);
        if (e == Interop.MountSyscalls.EINVAL) // kernel before 6.12: no AT_HANDLE_MNT_ID_UNIQUE
            e = FileHandles.NameToHandle(fd.Fd, "", FileHandles.AT_EMPTY_PATH, out h, out _);
        if (e != 0) return e;
        e = Statx.Get(fd, out st);
        if (e != 0) return e;
        if (st.MountIdUnique) mntId = st.MountId;
        if (Interop.MountSyscalls.GetFsUuid(fd, out var u) == 0) uuid = u;
        return 0;
    }

    /// <summary>
    /// Open the filesystem: the stored path, then statmount(mnt_id).mnt_point, then mount-table entries with the same
    /// source. Each candidate must match the root handle bytes, the device number and the UUID; otherwise ESTALE.
    /// On success the caller owns <paramref name="fd"/> (dispose it after the operation).
    /// </summary>
    public int Reopen(out SafeFd? fd, List<string>? diagnostics = null)
    {
        diagnostics ??= [];
        LastMismatch = null;
        LastReopenVia = null;
        var tried = new HashSet<string>(StringComparer.Ordinal);
        string stored = StoredPath;
        if (TryPath(stored, tried, out fd, diagnostics)) { LastReopenVia = "stored path"; return 0; }

        if (Interop.MountSyscalls.StatmountEntry(MountId, 0, diagnostics, out var me, StatmountAbi.MNT_POINT) == 0 && me is not null
            && me.MountPoint.Length > 0 && TryPath(me.MountPoint, tried, out fd, diagnostics))
        { Store(me.MountPoint); LastReopenVia = "statmount"; return 0; }

        if (Source.Length > 0)
            foreach (var m in MountTableReader(diagnostics))
                if (m.Source == Source && (FsType.Length == 0 || m.FsType == FsType) && m.IsRootMount && TryPath(m.MountPoint, tried, out fd, diagnostics))
                { Store(m.MountPoint); LastReopenVia = "mount table"; return 0; }
        fd = null;
        return ESTALE;
    }

    private void Store(string path) { lock (_lock) _path = path; }

    private bool TryPath(string path, HashSet<string> tried, out SafeFd? fd, List<string> diagnostics)
    {
        fd = null;
        if (!tried.Add(path)) return false;
        var f = Libc.Open(path, Libc.O_RDONLY | Libc.O_DIRECTORY, out int e);
        if (f.IsInvalid) { diagnostics.Add($"{path}: open: {Errno.Message(e)}"); return false; }
        e = Identify(f, out var h, out var mnt, out var st, out var uuid);
        string? mismatch = e != 0 ? $"identify failed: {Errno.Message(e)}"
            : !h.SameAs(RootHandle) ? "handle"
            : st.DevKey != DevKey ? "dev"
            : (FsUuid is not null && (uuid is null || !uuid.AsSpan().SequenceEqual(FsUuid))) ? "uuid"
            : null;
        if (mismatch is not null)
        {
            LastMismatch = mismatch;
            diagnostics.Add($"{path}: not the same filesystem ({mismatch} differs from {Dev}, {RootHandle})");
            f.Dispose();
            return false;
        }
        if (mnt != 0) lock (_lock) _mountId = mnt;
        fd = f;
        return true;
    }
}

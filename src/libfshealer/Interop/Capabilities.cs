using System.Runtime.InteropServices;
using FsHealer.Service;
using FsHealer.Text;

namespace FsHealer.Interop;

/// <summary>
/// The calling process's effective capabilities via capget(2) (glibc's wrapper, header version 3).
/// Repairs (XFS scrub with IFLAG_REPAIR, remounts, fsck) need CAP_SYS_ADMIN; opening by handle needs
/// CAP_DAC_READ_SEARCH. The daemon refuses to start repairs without CAP_SYS_ADMIN, with a clear message.
/// </summary>
public static unsafe partial class Capabilities
{
    [LibraryImport("libc", EntryPoint = "capget", SetLastError = true)]
    private static partial int capget(CapHeader* header, CapData* data);

    [StructLayout(LayoutKind.Sequential)]
    private struct CapHeader { public uint Version; public int Pid; }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapData { public uint Effective, Permitted, Inheritable; }

    /// <summary>Effective capability set of this process, or null with a diagnostic when capget fails.</summary>
    public static ulong? Effective(out string? error)
    {
        var hdr = new CapHeader { Version = CapabilitySet.LinuxCapabilityVersion3, Pid = 0 };
        var data = stackalloc CapData[2];
        if (capget(&hdr, data) != 0)
        {
            int errno = Libc.LastErrno;
            error = $"capget(2): {Errno.Name(errno)} ({Errno.Message(errno)})";
            return null;
        }
        error = null;
        return CapabilitySet.Combine(data[0].Effective, data[1].Effective);
    }

    public static bool Has(int cap) => Effective(out _) is { } eff && CapabilitySet.Has(eff, cap);
    public static bool HasCapSysAdmin() => Has(CapabilitySet.CAP_SYS_ADMIN);
    public static bool HasCapDacReadSearch() => Has(CapabilitySet.CAP_DAC_READ_SEARCH);

    /// <summary>
    /// Call before starting any repair: false (with a message naming the missing capability) when this process
    /// lacks CAP_SYS_ADMIN, or when capget itself fails.
    /// </summary>
    public static bool RequireForRepair(out string message, string what = "fshealer")
    {
        var eff = Effective(out var error);
        if (eff is null)
        {
            message = $"{what}: refusing to run repairs: cannot read capabilities: {error}";
            return false;
        }
        message = CapabilitySet.RepairRefusal(eff.Value, what) ?? "";
        return message.Length == 0;
    }
}

/// <summary>State files and directories are private: directories 0700, files 0600. A state directory that is a
/// symbolic link, is owned by another user, or is writable by group or others is refused (like sshd's StrictModes):
/// someone else could plant files in it or swap it, and tightening it would chmod whatever it points to.</summary>
public static class PrivateState
{
    public const UnixFileMode DirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Why <paramref name="path"/> must not be used as a state directory, or null (also when it does not
    /// exist yet). Never follows a symbolic link.</summary>
    public static string? Unsafe(string path) => UnsafeFor(path, Libc.geteuid());

    internal static string? UnsafeFor(string path, uint euid)
    {
        int err = Statx.Owner(path, follow: false, out uint uid, out _, out uint mode);
        if (err == FsHealer.Text.Errno.ENOENT) return null;
        if (err != 0) return null; // unreadable: the lock and history report it with the errno
        string why = (mode & Statx.S_IFMT) switch
        {
            Statx.S_IFLNK => $"is a symbolic link{(Realpath.Resolve(path, out _) is { } target ? $" (to {target})" : "")}",
            _ => "",   // a directory; anything else cannot hold a lock, which says so (and the daemon runs on)
        };
        if ((mode & Statx.S_IFMT) != Statx.S_IFDIR && why.Length == 0) return null;
        if (why.Length == 0 && uid != euid) why = $"is owned by uid {uid}, not by {(euid == 0 ? "root" : $"uid {euid}")} (who runs fshealer)";
        if (why.Length == 0 && (mode & 0x12) != 0)
            why = $"is {((mode & 0x10) != 0 ? "group" : "")}{((mode & 0x12) == 0x12 ? "- and " : "")}{((mode & 0x2) != 0 ? "world" : "")}-writable (mode {Convert.ToString(mode & 0xFFF, 8)})";
        return why.Length == 0 ? null
            : $"refusing state directory {path}: it {why}; use a real directory owned by {(euid == 0 ? "root" : $"uid {euid}")} with mode 0700 (or set state_dir / --state-dir)";
    }

    /// <summary>Why a file in a state directory must not be used (a symbolic link, another owner), or null.</summary>
    public static string? UnsafeFile(string path)
    {
        int err = Statx.Owner(path, follow: false, out uint uid, out _, out uint mode);
        if (err != 0) return null;
        uint euid = Libc.geteuid();
        if ((mode & Statx.S_IFMT) == Statx.S_IFLNK) return $"refusing {path}: it is a symbolic link (a state file must be a regular file)";
        if ((mode & Statx.S_IFMT) != Statx.S_IFREG) return $"refusing {path}: it is not a regular file";
        if (uid != euid) return $"refusing {path}: it is owned by uid {uid}, not by {(euid == 0 ? "root" : $"uid {euid}")}";
        return null;
    }

    /// <summary>Create (or tighten) a state directory to 0700. Returns null or a diagnostic naming the directory.
    /// Call <see cref="Unsafe"/> first: this follows what the path names.</summary>
    public static string? EnsureDirectory(string path)
    {
        try
        {
            if (!Directory.Exists(path)) Directory.CreateDirectory(path, DirMode);
            if (Unsafe(path) is { } why) return why;
            var mode = File.GetUnixFileMode(path);
            if ((mode & ~DirMode) != 0) File.SetUnixFileMode(path, DirMode);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return $"state directory {path}: {ex.Message}";
        }
    }
}

using System.Runtime.InteropServices;
using FsHealer.Service;

namespace FsHealer.Interop;

/// <summary>
/// The calling process's effective capabilities via capget(2) (x86_64 syscall 125, header version 3).
/// Repairs (XFS scrub with IFLAG_REPAIR, remounts, fsck) need CAP_SYS_ADMIN; opening by handle needs
/// CAP_DAC_READ_SEARCH. The daemon refuses to start repairs without CAP_SYS_ADMIN, with a clear message.
/// </summary>
public static unsafe class Capabilities
{
    public const int SYS_capget = 125; // x86_64; aarch64 is 90
    private static int CapgetNumber => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 90 : SYS_capget;

    [StructLayout(LayoutKind.Sequential)]
    private struct CapHeader { public uint Version; public int Pid; }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapData { public uint Effective, Permitted, Inheritable; }

    /// <summary>Effective capability set of this process, or null with a diagnostic when capget fails.</summary>
    public static ulong? Effective(out string? error)
    {
        var hdr = new CapHeader { Version = CapabilitySet.LinuxCapabilityVersion3, Pid = 0 };
        var data = stackalloc CapData[2];
        nint r = Libc.syscall(CapgetNumber, (nint)(&hdr), (nint)data, 0, 0, 0);
        if (r != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            error = $"capget(2): {FsHealer.Text.Errno.Name(errno)} ({FsHealer.Text.Errno.Message(errno)})";
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

/// <summary>State files and directories are private: directories 0700, files 0600.</summary>
public static class PrivateState
{
    public const UnixFileMode DirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Create (or tighten) a state directory to 0700. Returns null or a diagnostic naming the directory.</summary>
    public static string? EnsureDirectory(string path)
    {
        try
        {
            if (!Directory.Exists(path)) Directory.CreateDirectory(path, DirMode);
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

using System.Runtime.InteropServices;

namespace FsHealer.Interop;

/// <summary>
/// ioprio_set(2) for the calling thread (glibc has no wrapper: syscall(2) with the architecture's number). A btrfs
/// scrub submits its reads from the thread inside BTRFS_IOC_SCRUB, so that thread's I/O class is the scrub's
/// (what <c>btrfs scrub start -c 3</c> does).
/// </summary>
public static partial class IoPrio
{
    /// <summary>SYS_ioprio_set per architecture (arch/x86/entry/syscalls/syscall_64.tbl: 251; asm-generic: 30).</summary>
    private static readonly IReadOnlyDictionary<Architecture, nint> SysIoprioSet = new Dictionary<Architecture, nint>
    {
        [Architecture.X64] = 251, [Architecture.Arm64] = 30, [Architecture.RiscV64] = 30, [Architecture.LoongArch64] = 30,
    };
    public const int IOPRIO_WHO_PROCESS = 1, IOPRIO_CLASS_IDLE = 3, IOPRIO_CLASS_SHIFT = 13;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial nint syscall(nint number, nint a1, nint a2, nint a3);

    /// <summary>Put the calling thread in the idle I/O class (who 0 = the calling thread). 0 or errno.</summary>
    public static int SetIdleForThisThread()
    {
        if (!SysIoprioSet.TryGetValue(RuntimeInformation.ProcessArchitecture, out var nr)) return Text.Errno.ENOSYS;
        return syscall(nr, IOPRIO_WHO_PROCESS, 0, IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT) == 0 ? 0 : Libc.LastErrno;
    }
}

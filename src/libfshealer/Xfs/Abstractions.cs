using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;

namespace FsHealer.Xfs;

/// <summary>A byte stream of health records: the monitor fd, a pipe (simulated kernel) or a recorded file.</summary>
public interface IRecordSource
{
    /// <summary>Read up to buffer.Length bytes; 0 = end of stream; negative = -errno.</summary>
    int Read(Span<byte> buffer);
}

/// <summary>An open handle on the filesystem, valid only for the duration of one repair.</summary>
public interface IScrubHandle : IDisposable
{
    /// <summary>Issue XFS_IOC_SCRUB_METADATA; returns 0 or an errno. <paramref name="req"/>.Flags carries the out flags.</summary>
    int Scrub(ref ScrubRequest req);
}

/// <summary>
/// The monitored filesystem as the engine sees it: a weak handle that can be reopened (never held open between
/// operations, so the mount is never pinned) and validated as the very filesystem the monitor watches.
/// </summary>
public interface IXfsTarget
{
    /// <summary>Where the filesystem is mounted now (updated when it moves).</summary>
    string CurrentMountpoint { get; }
    bool HasParentPointers { get; }
    /// <summary>Reopen for repair with identity validation. Returns 0, or an errno (ESTALE = not the same fs).</summary>
    int OpenForRepair(out IScrubHandle? handle);
    /// <summary>Path of an inode for log lines, or null.</summary>
    string? LookupPath(ulong ino, uint gen);
}

/// <summary>Starts systemd units without waiting (systemctl start --no-block).</summary>
public interface IUnitManager
{
    /// <summary>True when the start request was accepted (exit status 0).</summary>
    bool StartNoBlock(string unit);
}

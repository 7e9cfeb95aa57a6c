using FsHealer.Core.Xfs;

namespace FsHealer.Core.Engine;

/// <summary>A byte stream of health records: the monitor fd, a pipe (simulated kernel) or a recorded file.</summary>
public interface IRecordSource
{
    /// <summary>Read up to buffer.Length bytes; 0 = end of stream; negative = -errno.</summary>
    int Read(Span<byte> buffer);
}

/// <summary>
/// Serialized output: events and outcomes on stdout, diagnostics on stderr, each line whole and in order. An
/// implementation may hold stdout lines in a buffer (<see cref="BufferedHealerConsole"/>): then everything written
/// before an <see cref="Err"/> line, a <see cref="Flush"/> or the end of the process reaches the stream first.
/// </summary>
public interface IHealerConsole
{
    void Out(ReadOnlySpan<char> line);
    void Err(ReadOnlySpan<char> line);
    /// <summary>Write out what is buffered: the caller is about to wait (for the kernel, for a queue) or to start a
    /// process that writes to the same streams.</summary>
    void Flush() { }
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

/// <summary>Console that writes to two TextWriters under one lock, flushing every line.</summary>
public sealed class TextWriterConsole(TextWriter stdout, TextWriter stderr) : IHealerConsole
{
    private readonly object _lock = new();

    public void Out(ReadOnlySpan<char> line)
    {
        lock (_lock) { stdout.Write(line); stdout.Write('\n'); stdout.Flush(); }
    }

    public void Err(ReadOnlySpan<char> line)
    {
        lock (_lock) { stderr.Write(line); stderr.Write('\n'); stderr.Flush(); }
    }
}

/// <summary>Collects lines in memory (tests, replay comparisons).</summary>
public sealed class MemoryConsole : IHealerConsole
{
    private readonly object _lock = new();
    private readonly List<string> _out = [], _err = [], _all = [];
    public void Out(ReadOnlySpan<char> line) { var s = line.ToString(); lock (_lock) { _out.Add(s); _all.Add(s); } }
    public void Err(ReadOnlySpan<char> line) { var s = line.ToString(); lock (_lock) { _err.Add(s); _all.Add("ERR " + s); } }
    public string[] Stdout { get { lock (_lock) return [.. _out]; } }
    public string[] Stderr { get { lock (_lock) return [.. _err]; } }
    public string[] Interleaved { get { lock (_lock) return [.. _all]; } }
}

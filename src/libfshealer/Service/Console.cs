namespace FsHealer.Service;

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

/// <summary>
/// Console that writes to two TextWriters under one lock, flushing every line. A stream that fails (full disk behind
/// a redirect, closed pipe, closed descriptor) never throws into the caller — a failed log line must not interrupt
/// anything, least of all an action between unmount and remount: the line is dropped, the first failure of each
/// stream is said once on the other stream, and writing is tried again on the next line (space may come back).
/// </summary>
public sealed class TextWriterConsole(TextWriter stdout, TextWriter stderr) : IHealerConsole
{
    private readonly object _lock = new();
    private bool _outFailed, _errFailed;
    private long _dropped;

    /// <summary>Lines that could not be written.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Out(ReadOnlySpan<char> line)
    {
        lock (_lock)
        {
            if (Write(stdout, line)) { _outFailed = false; return; }
            if (!_outFailed) { _outFailed = true; Write(stderr, "fshealer: cannot write to standard output; its lines are dropped until it works again"); }
        }
    }

    public void Err(ReadOnlySpan<char> line)
    {
        lock (_lock)
        {
            if (Write(stderr, line)) { _errFailed = false; return; }
            if (!_errFailed) { _errFailed = true; Write(stdout, "fshealer: cannot write to standard error; its lines are dropped until it works again"); }
        }
    }

    private bool Write(TextWriter w, ReadOnlySpan<char> line)
    {
        try
        {
            w.Write(line);
            w.Write('\n');
            w.Flush();
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException or UnauthorizedAccessException)
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }
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

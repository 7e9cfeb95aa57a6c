using System.Buffers;
using FsHealer.Text;

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
/// Console that writes to two TextWriters under one lock, flushing every line. Each line is shown with
/// <see cref="PathBytes.Show"/>: a name with a newline, an escape sequence or bytes that are not UTF-8 can neither add
/// a line nor colour the terminal, and <c>x\xff</c> stays distinguishable from <c>x\uFFFD</c> (the xfs_healer drop-in
/// prints raw bytes like the C program: <see cref="RawBytesConsole"/>). A stream that fails (full disk behind
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
        line = PathBytes.Show(line.ToString());
        lock (_lock)
        {
            if (Write(stdout, line)) { _outFailed = false; return; }
            if (!_outFailed) { _outFailed = true; Write(stderr, "fshealer: cannot write to standard output; its lines are dropped until it works again"); }
        }
    }

    public void Err(ReadOnlySpan<char> line)
    {
        line = PathBytes.Show(line.ToString());
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

/// <summary>
/// The xfs_healer drop-in's console: it must print what xfsprogs' xfs_healer prints, byte for byte, and the C
/// program prints a mount point's raw bytes. So each line is written as bytes (<see cref="PathBytes.Encode"/>: a name
/// that is not UTF-8 comes out as the bytes the kernel gave, not as U+FFFD), in one write per line under one lock.
/// The one documented difference from the C program: control characters are escaped
/// (<see cref="PathBytes.EscapeControls"/>), so a name with a newline or an escape sequence cannot forge a line or
/// colour the terminal. Like the C program's printf, a failed write is dropped, never thrown.
/// <see cref="WriteLine"/> is the helper for any other raw-byte output.
/// </summary>
public sealed class RawBytesConsole(Stream stdout, Stream stderr) : IHealerConsole
{
    private readonly object _lock = new();

    public void Out(ReadOnlySpan<char> line) => WriteLine(stdout, line.ToString(), _lock);
    public void Err(ReadOnlySpan<char> line) => WriteLine(stderr, line.ToString(), _lock);

    /// <summary>Write <paramref name="line"/> (controls escaped) and a newline to <paramref name="to"/> as bytes, in
    /// one Write call, then flush. False when the stream failed (the line is dropped).</summary>
    public static bool WriteLine(Stream to, string line, object? sync = null)
    {
        line = PathBytes.EscapeControls(line);
        int n = PathBytes.ByteCount(line);
        var buf = ArrayPool<byte>.Shared.Rent(n + 1);
        try
        {
            PathBytes.Encode(line, buf);
            buf[n] = (byte)'\n';
            lock (sync ?? to) { to.Write(buf, 0, n + 1); to.Flush(); }
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException or UnauthorizedAccessException)
        {
            return false;
        }
        finally { ArrayPool<byte>.Shared.Return(buf); }
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

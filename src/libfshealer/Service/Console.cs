using System.Buffers;
using FsHealer.Healing;
using FsHealer.Text;
using FsHealer.Xfs;

namespace FsHealer.Service;

/// <summary>Serialized, line-flushed output: events and outcomes on stdout, diagnostics on stderr.</summary>
public interface IHealerConsole
{
    void Out(string line);
    void Err(string line);
}

/// <summary>Console that writes to two TextWriters under one lock, flushing every line. Each line is shown with
/// <see cref="PathBytes.Show"/>: a name with a newline, an escape sequence or bytes that are not UTF-8 can neither add
/// a line nor colour the terminal, and <c>x\xff</c> stays distinguishable from <c>x\uFFFD</c>. (The xfs_healer drop-in
/// prints raw bytes like the C program: <see cref="RawBytesConsole"/>.)</summary>
public sealed class TextWriterConsole(TextWriter stdout, TextWriter stderr) : IHealerConsole
{
    private readonly object _lock = new();

    public void Out(string line)
    {
        line = PathBytes.Show(line);
        lock (_lock) { stdout.Write(line); stdout.Write('\n'); stdout.Flush(); }
    }

    public void Err(string line)
    {
        line = PathBytes.Show(line);
        lock (_lock) { stderr.Write(line); stderr.Write('\n'); stderr.Flush(); }
    }
}

/// <summary>
/// The xfs_healer drop-in's console: it must print what xfsprogs' xfs_healer prints, byte for byte, and the C
/// program prints a mount point's raw bytes. So each line is written as bytes (<see cref="PathBytes.Encode"/>: a name
/// that is not UTF-8 comes out as the bytes the kernel gave, not as U+FFFD), in one write per line under one lock.
/// The one documented difference from the C program: control characters are escaped
/// (<see cref="PathBytes.EscapeControls"/>), so a name with a newline or an escape sequence cannot forge a line or
/// colour the terminal. <see cref="WriteLine"/> is the helper for any other raw-byte output.
/// </summary>
public sealed class RawBytesConsole(Stream stdout, Stream stderr) : IHealerConsole
{
    private readonly object _lock = new();

    public void Out(string line) => WriteLine(stdout, line, _lock);
    public void Err(string line) => WriteLine(stderr, line, _lock);

    /// <summary>Write <paramref name="line"/> (controls escaped) and a newline to <paramref name="to"/> as bytes, in
    /// one Write call, then flush.</summary>
    public static void WriteLine(Stream to, string line, object? sync = null)
    {
        line = PathBytes.EscapeControls(line);
        int n = PathBytes.ByteCount(line);
        var buf = ArrayPool<byte>.Shared.Rent(n + 1);
        try
        {
            PathBytes.Encode(line, buf);
            buf[n] = (byte)'\n';
            lock (sync ?? to) { to.Write(buf, 0, n + 1); to.Flush(); }
        }
        finally { ArrayPool<byte>.Shared.Return(buf); }
    }
}

/// <summary>Collects lines in memory (tests, replay comparisons).</summary>
public sealed class MemoryConsole : IHealerConsole
{
    private readonly object _lock = new();
    private readonly List<string> _out = [], _err = [], _all = [];
    public void Out(string line) { lock (_lock) { _out.Add(line); _all.Add(line); } }
    public void Err(string line) { lock (_lock) { _err.Add(line); _all.Add("ERR " + line); } }
    public string[] Stdout { get { lock (_lock) return [.. _out]; } }
    public string[] Stderr { get { lock (_lock) return [.. _err]; } }
    public string[] Interleaved { get { lock (_lock) return [.. _all]; } }
}

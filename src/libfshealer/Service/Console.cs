using FsHealer.Healing;
using FsHealer.Xfs;
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

using FsHealer.Healing;
using FsHealer.Xfs;
namespace FsHealer.Service;

/// <summary>Serialized, line-flushed output: events and outcomes on stdout, diagnostics on stderr.</summary>
public interface IHealerConsole
{
    void Out(string line);
    void Err(string line);
}

/// <summary>Console that writes to two TextWriters under one lock, flushing every line.</summary>
public sealed class TextWriterConsole(TextWriter stdout, TextWriter stderr) : IHealerConsole
{
    private readonly object _lock = new();

    public void Out(string line)
    {
        lock (_lock) { stdout.Write(line); stdout.Write('\n'); stdout.Flush(); }
    }

    public void Err(string line)
    {
        lock (_lock) { stderr.Write(line); stderr.Write('\n'); stderr.Flush(); }
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

using System.Text;

namespace FsHealer.Cli;

/// <summary>Standard output could not be written (closed, full disk, /dev/full, a broken pipe).</summary>
public sealed class StdoutException(string reason, Exception inner) : IOException(reason, inner)
{
    public string Reason { get; } = reason;
}

/// <summary>
/// Standard output behind a guard: a write that fails becomes one <see cref="StdoutException"/> (the CLI prints one
/// line and exits 74, EX_IOERR — never a stack trace). For the long-running commands (<see cref="Lenient"/>: the
/// daemon, the per-mount watchers) a failing standard output must not stop the healing: the first failure is
/// said once on standard error and output is dropped from then on.
/// </summary>
public sealed class StdoutGuard(TextWriter inner, TextWriter stderr, bool lenient) : TextWriter
{
    public bool Lenient { get; } = lenient;
    private bool _failed;

    public override Encoding Encoding => inner.Encoding;
    public override IFormatProvider FormatProvider => inner.FormatProvider;
    public override string NewLine
    {
        get => inner.NewLine;
#pragma warning disable CS8765
        set => inner.NewLine = value;
#pragma warning restore CS8765
    }

    private void Guard(Action a)
    {
        if (_failed && Lenient) return;
        try { a(); }
        catch (IOException e) when (e is not StdoutException)
        {
            var reason = Reason(e);
            if (!Lenient) throw new StdoutException(reason, e);
            if (_failed) return;
            _failed = true;
            try { stderr.WriteLine($"fshealer: cannot write to standard output ({reason}); its output is dropped from now on"); }
            catch (IOException) { }
        }
        catch (Exception e) when (e is ObjectDisposedException or UnauthorizedAccessException)
        {
            if (!Lenient) throw new StdoutException(e is UnauthorizedAccessException && e.InnerException is IOException io ? Reason(io) : "closed", e);
            _failed = true;
        }
    }

    /// <summary>"No space left on device" from "No space left on device : '/dev/stdout'" and the like.</summary>
    public static string Reason(IOException e)
    {
        var m = e.Message;
        int cut = m.IndexOf(" : ", StringComparison.Ordinal);
        if (cut > 0) m = m[..cut];
        return m.Trim().TrimEnd('.');
    }

    public override void Write(char value) => Guard(() => inner.Write(value));
    public override void Write(string? value) => Guard(() => inner.Write(value));
    public override void Write(char[] buffer, int index, int count) => Guard(() => inner.Write(buffer, index, count));
    public override void Write(ReadOnlySpan<char> buffer) { var s = buffer.ToString(); Guard(() => inner.Write(s)); }
    public override void WriteLine() => Guard(() => inner.WriteLine());
    public override void WriteLine(string? value) => Guard(() => inner.WriteLine(value));
    public override void WriteLine(ReadOnlySpan<char> buffer) { var s = buffer.ToString(); Guard(() => inner.WriteLine(s)); }
    public override void Flush() => Guard(inner.Flush);
}

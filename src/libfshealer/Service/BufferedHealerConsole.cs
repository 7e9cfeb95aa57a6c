using FsHealer.Text;

namespace FsHealer.Service;

/// <summary>Where the bytes of a stream go (a file descriptor, a test's recorder). Write writes all of them or gives
/// up on the stream (a closed pipe, a full disk): log output never stops the healer.</summary>
public interface IByteSink
{
    void Write(ReadOnlySpan<byte> data);
}

/// <summary>
/// The xfs_healer console without a system call per line. Each line is encoded (<see cref="LogLineEncoder"/>: UTF-8,
/// surrogateescape bytes restored, control characters escaped) straight into one stdout buffer; the buffer is written
/// with one write when it is full, before any stderr line (stderr is written at once, one write per line, as C's
/// unbuffered stderr), on <see cref="Flush"/> — which the engine calls before it waits for more events and before it
/// starts a process — and at the end. So the two streams interleave exactly as xfs_healer's (which flushes stdout
/// after every line) and nothing waits in the buffer while the healer is idle. When stdout is a terminal, every line
/// is written at once (<paramref name="lineBuffered"/>).
/// </summary>
public sealed class BufferedHealerConsole(IByteSink stdout, IByteSink stderr, bool lineBuffered, int capacity = 32 * 1024) : IHealerConsole
{
    private readonly object _lock = new();
    private readonly byte[] _out = new byte[Math.Max(64, capacity)];
    private readonly byte[] _err = new byte[4096];
    private int _outLen;

    /// <summary>Writes issued to stdout and stderr (tests and benchmarks).</summary>
    public long StdoutWrites { get; private set; }
    public long StderrWrites { get; private set; }

    public void Out(ReadOnlySpan<char> line)
    {
        lock (_lock)
        {
            Append(line, _out, ref _outLen, stdout, isOut: true);
            if (_outLen == _out.Length) FlushOut();
            _out[_outLen++] = (byte)'\n';
            if (lineBuffered) FlushOut();
        }
    }

    public void Err(ReadOnlySpan<char> line)
    {
        lock (_lock)
        {
            FlushOut();
            int len = 0;
            Append(line, _err, ref len, stderr, isOut: false);
            if (len == _err.Length) { stderr.Write(_err.AsSpan(0, len)); StderrWrites++; len = 0; }
            _err[len++] = (byte)'\n';
            stderr.Write(_err.AsSpan(0, len));
            StderrWrites++;
        }
    }

    public void Flush()
    {
        lock (_lock) FlushOut();
    }

    private void FlushOut()
    {
        if (_outLen == 0) return;
        stdout.Write(_out.AsSpan(0, _outLen));
        StdoutWrites++;
        _outLen = 0;
    }

    /// <summary>Encode <paramref name="s"/> into <paramref name="buf"/>, writing the buffer out whenever the next piece
    /// might not fit (a line longer than the buffer goes out in pieces; a surrogate pair is never split).</summary>
    private void Append(ReadOnlySpan<char> s, byte[] buf, ref int len, IByteSink sink, bool isOut)
    {
        while (!s.IsEmpty)
        {
            int take = Math.Min((buf.Length - len) / 4, s.Length);
            if (take < s.Length && take > 0 && char.IsHighSurrogate(s[take - 1])) take--;
            if (take == 0)
            {
                sink.Write(buf.AsSpan(0, len));
                if (isOut) StdoutWrites++; else StderrWrites++;
                len = 0;
                continue;
            }
            len += LogLineEncoder.Encode(s[..take], buf.AsSpan(len));
            s = s[take..];
        }
    }
}

using FsHealer.Kmsg;
using FsHealer.Text;

namespace FsHealer.Interop;

/// <summary>The result of one <see cref="KmsgReader.Read"/>: a record, "records were lost", nothing yet, or an error.</summary>
public readonly record struct KmsgReadResult(KmsgRecord? Record, bool Overrun, ulong Missed, int Errno, string? Diagnostic)
{
    public bool WouldBlock => Record is null && !Overrun && Errno == FsHealer.Text.Errno.EAGAIN;
}

/// <summary>
/// Non-blocking /dev/kmsg reader. Seeks to the end when opened so old messages are not replayed. One read(2)
/// returns exactly one record; EPIPE means records were overwritten before we read them (reported as an overrun,
/// then reading continues); EAGAIN means nothing new.
/// </summary>
public sealed class KmsgReader : IDisposable
{
    public const string DevicePath = "/dev/kmsg";
    private const int BufferSize = 16384; // the kernel's record limit is below 8 KiB (CONSOLE_EXT_LOG_MAX)
    private readonly SafeFd _fd;
    private readonly byte[] _buffer = new byte[BufferSize];
    private readonly KmsgSequenceTracker _seq = new();

    /// <summary>Records older than this kernel timestamp (µs since boot) are skipped (a reader opened with a look-back).</summary>
    private ulong _notBefore;

    private KmsgReader(SafeFd fd) => _fd = fd;

    /// <summary>The kernel log's clock now (µs since boot, CLOCK_MONOTONIC as the records' timestamps).</summary>
    public static ulong NowUsec() => (ulong)(System.Diagnostics.Stopwatch.GetTimestamp() / (System.Diagnostics.Stopwatch.Frequency / 1_000_000));

    /// <summary>Open /dev/kmsg positioned at the first record still buffered, skipping records older than
    /// <paramref name="lookBack"/>: what the kernel said just before we started (a filesystem logs damage while it
    /// mounts, before a watcher can attach). Null with a diagnostic on failure.</summary>
    public static KmsgReader? OpenWithLookBack(TimeSpan lookBack, out string? diagnostic, string path = DevicePath)
    {
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_NONBLOCK, out int errno);
        if (fd.IsInvalid) { diagnostic = $"open {path}: {Errno.Name(errno)} ({Errno.Message(errno)})"; return null; }
        if (Libc.Seek(fd, 0, Libc.SEEK_SET) is var off and < 0)
        {
            int e = (int)-off;
            fd.Dispose();
            diagnostic = $"lseek(SEEK_SET) on {path}: {Errno.Name(e)} ({Errno.Message(e)})";
            return null;
        }
        ulong now = NowUsec(), back = (ulong)Math.Max(0, lookBack.Ticks / 10);
        diagnostic = null;
        return new KmsgReader(fd) { _notBefore = now > back ? now - back : 0 };
    }

    /// <summary>Open /dev/kmsg (O_RDONLY|O_NONBLOCK) positioned at the end. Null with a diagnostic on failure.</summary>
    public static KmsgReader? Open(out string? diagnostic, string path = DevicePath)
    {
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_NONBLOCK, out int errno);
        if (fd.IsInvalid) { diagnostic = $"open {path}: {Errno.Name(errno)} ({Errno.Message(errno)})"; return null; }
        if (Libc.Seek(fd, 0, Libc.SEEK_END) is var off and < 0)
        {
            int e = (int)-off;
            fd.Dispose();
            diagnostic = $"lseek(SEEK_END) on {path}: {Errno.Name(e)} ({Errno.Message(e)})";
            return null;
        }
        diagnostic = null;
        return new KmsgReader(fd);
    }

    /// <summary>Read one record (non-blocking).</summary>
    public KmsgReadResult Read()
    {
        while (true)
        {
            var r = ReadOne(out bool tooOld);
            if (!tooOld) return r;
        }
    }

    private KmsgReadResult ReadOne(out bool tooOld)
    {
        tooOld = false;
        int n = Libc.Read(_fd, _buffer);
        if (n < 0)
        {
            int e = -n;
            if (e == Errno.EPIPE) return new KmsgReadResult(null, true, 0, e, "kernel log records were overwritten before they were read (EPIPE)");
            if (e == Errno.EAGAIN) return new KmsgReadResult(null, false, 0, e, null);
            return new KmsgReadResult(null, false, 0, e, $"read {DevicePath}: {Errno.Name(e)} ({Errno.Message(e)})" + (e == Errno.EINVAL ? " (record larger than the buffer)" : ""));
        }
        if (n == 0) return new KmsgReadResult(null, false, 0, Errno.EAGAIN, null);
        if (!KmsgParser.TryParse(_buffer.AsSpan(0, n), out var rec, out var err))
            return new KmsgReadResult(null, false, 0, 0, $"{DevicePath}: malformed record: {err}");
        if (rec!.TimestampUsec < _notBefore) { _seq.Observe(rec.Sequence); tooOld = true; return default; }
        ulong missed = _seq.Observe(rec.Sequence);
        return new KmsgReadResult(rec, missed != 0, missed, 0, missed != 0 ? $"{missed} kernel log records were missed (sequence gap)" : null);
    }

    /// <summary>Read everything available now.</summary>
    public List<KmsgReadResult> ReadAvailable(int max = 10000)
    {
        var list = new List<KmsgReadResult>();
        for (int i = 0; i < max; i++)
        {
            var r = Read();
            if (r.Record is null && !r.Overrun) { if (r.Diagnostic is not null) list.Add(r); break; }
            list.Add(r);
        }
        return list;
    }

    public void Dispose() => _fd.Dispose();
}

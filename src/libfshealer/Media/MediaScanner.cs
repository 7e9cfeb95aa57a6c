using System.Text.Json;
using System.Text.Json.Serialization;
using System.Diagnostics;
using System.Globalization;
using FsHealer.Text;

namespace FsHealer.Media;

/// <summary>Reads a block device (O_DIRECT in production, a fake in tests).</summary>
public interface IBlockReader
{
    long Size { get; }
    int SectorSize { get; }
    /// <summary>Read up to buffer.Length bytes at offset (sector aligned). Returns bytes read, 0 at end, or -errno.</summary>
    int Read(long offset, Span<byte> buffer);
}

/// <summary>Time source and sleep for throttling (fake in tests).</summary>
public interface IScanClock
{
    TimeSpan Now { get; }
    void Sleep(TimeSpan t, CancellationToken ct);
}

public sealed class SystemScanClock : IScanClock
{
    private readonly Stopwatch _sw = Stopwatch.StartNew();
    public TimeSpan Now => _sw.Elapsed;
    public void Sleep(TimeSpan t, CancellationToken ct) { if (t > TimeSpan.Zero) ct.WaitHandle.WaitOne(t); }
}

public readonly record struct ByteRange(long Offset, long Length)
{
    public long End => Offset + Length;
    public override string ToString() => $"[{Offset}, {End})";
}

/// <summary>A failing region found by the scan, exact to the device sector.</summary>
public readonly record struct BadRange(long Offset, long Length, int Errno)
{
    public long End => Offset + Length;
}

public sealed record MediaScanOptions
{
    /// <summary>Bytes per read (rounded to the sector size). Default 1 MiB.</summary>
    public int ChunkBytes { get; init; } = 1 << 20;
    /// <summary>Bandwidth limit in bytes/s; 0 = unlimited.</summary>
    public long BytesPerSecond { get; init; }
    /// <summary>Pause after every read (xfs_io -s rest_us).</summary>
    public TimeSpan RestBetweenReads { get; init; }
    /// <summary>Only scan inside [Offset, End) of the device (xfs_io start/end).</summary>
    public ByteRange? Limit { get; init; }
    /// <summary>Resume: skip everything before this device offset.</summary>
    public long ResumeFrom { get; init; }
    /// <summary>Bad ranges already found before the resume point (from the checkpoint).</summary>
    public IReadOnlyList<BadRange> KnownBad { get; init; } = [];
    /// <summary>Polled between reads; a non-null reason stops the scan (e.g. "unmounted").</summary>
    public Func<string?>? StopReason { get; init; }
    /// <summary>Called with the state to persist (every <see cref="CheckpointEvery"/> bytes and at the end).</summary>
    public Action<long, IReadOnlyList<BadRange>, long>? Checkpoint { get; init; }
    public long CheckpointEvery { get; init; } = 64L << 20;
    public TimeSpan ProgressEvery { get; init; } = TimeSpan.FromSeconds(1);
}

public sealed record MediaScanProgress(long DoneBytes, long TotalBytes, long Position, TimeSpan Elapsed, TimeSpan? Eta, int BadRanges)
{
    public double Percent => TotalBytes == 0 ? 100 : 100.0 * DoneBytes / TotalBytes;
    public double BytesPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : DoneBytes / Elapsed.TotalSeconds;

    /// <summary>"scanned 12.0/64.0 MiB (18.8%) at 95.2 MiB/s, ETA 0:00:01, 0 bad ranges"</summary>
    public string Format() => string.Create(CultureInfo.InvariantCulture,
        $"scanned {DoneBytes / 1048576.0:0.0}/{TotalBytes / 1048576.0:0.0} MiB ({Percent:0.0}%) at {BytesPerSecond / 1048576.0:0.0} MiB/s, ETA {(Eta is { } e ? e.ToString(@"h\:mm\:ss") : "?")}, {BadRanges} bad range{(BadRanges == 1 ? "" : "s")}");
}

public enum MediaScanOutcome { Completed, Cancelled, Stopped }

public sealed record MediaScanResult(MediaScanOutcome Outcome, string? StopReason, long ScannedBytes, long TotalBytes, long NextOffset,
    TimeSpan Elapsed, IReadOnlyList<BadRange> Bad, long Reads)
{
    public double MiBPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : ScannedBytes / 1048576.0 / Elapsed.TotalSeconds;
}

/// <summary>
/// Throttled read scan of a list of device ranges. A failing read is narrowed by splitting it into 16 parts
/// recursively down to single sectors, so each bad range is exact to the sector; adjacent failing sectors with the
/// same errno are merged. Resumable from a device offset; stops between reads on cancellation or a stop reason.
/// </summary>
public sealed class MediaScanner
{
    private readonly IBlockReader _dev;
    private readonly IScanClock _clock;
    private byte[] _buf = [];
    private long _reads;

    public MediaScanner(IBlockReader dev, IScanClock? clock = null) { _dev = dev; _clock = clock ?? new SystemScanClock(); }

    /// <summary>Sort, clip to the device and sector-align (outwards) and merge ranges.</summary>
    public static List<ByteRange> Normalize(IEnumerable<ByteRange> ranges, long deviceSize, int sector)
    {
        var list = new List<ByteRange>();
        foreach (var r in ranges.Where(r => r.Length > 0).OrderBy(r => r.Offset))
        {
            long s = Math.Max(0, r.Offset) / sector * sector;
            long e = Math.Min(deviceSize, (r.End + sector - 1) / sector * sector);
            if (e <= s) continue;
            if (list.Count > 0 && s <= list[^1].End) { if (e > list[^1].End) list[^1] = list[^1] with { Length = e - list[^1].Offset }; }
            else list.Add(new ByteRange(s, e - s));
        }
        return list;
    }

    public static IEnumerable<ByteRange> Clip(IEnumerable<ByteRange> ranges, ByteRange limit)
    {
        foreach (var r in ranges)
        {
            long s = Math.Max(r.Offset, limit.Offset), e = Math.Min(r.End, limit.End);
            if (e > s) yield return new ByteRange(s, e - s);
        }
    }

    public MediaScanResult Run(IReadOnlyList<ByteRange> rangesIn, MediaScanOptions o, Action<MediaScanProgress>? progress = null, CancellationToken ct = default)
    {
        int sector = Math.Max(512, _dev.SectorSize);
        var ranges = Normalize(o.Limit is { } lim ? Clip(rangesIn, lim) : rangesIn, _dev.Size, sector);
        long total = ranges.Sum(r => r.Length);
        int chunk = Math.Max(sector, o.ChunkBytes / sector * sector);
        if (_buf.Length < chunk) _buf = new byte[chunk];
        var bad = new List<BadRange>(o.KnownBad);
        long done = ranges.Sum(r => Math.Clamp(o.ResumeFrom - r.Offset, 0, r.Length)); // already scanned before resume
        long doneAtStart = done, lastCheckpoint = done;
        var t0 = _clock.Now;
        var lastProgress = t0;
        long pos = o.ResumeFrom;

        MediaScanProgress Progress(long position)
        {
            var el = _clock.Now - t0;
            long session = done - doneAtStart;
            TimeSpan? eta = session > 0 && el > TimeSpan.Zero ? TimeSpan.FromSeconds((total - done) * el.TotalSeconds / session) : null;
            return new MediaScanProgress(done, total, position, el, eta, bad.Count);
        }
        MediaScanResult Finish(MediaScanOutcome outcome, string? reason, long next)
        {
            o.Checkpoint?.Invoke(next, bad, done);
            progress?.Invoke(Progress(next));
            return new MediaScanResult(outcome, reason, done - doneAtStart, total, next, _clock.Now - t0, bad, _reads);
        }

        foreach (var r in ranges)
        {
            long off = Math.Max(r.Offset, o.ResumeFrom);
            while (off < r.End)
            {
                if (ct.IsCancellationRequested) return Finish(MediaScanOutcome.Cancelled, "cancelled", off);
                if (o.StopReason?.Invoke() is { } why) return Finish(MediaScanOutcome.Stopped, why, off);
                int len = (int)Math.Min(chunk, r.End - off);
                int n = ReadFully(off, len, out int err);
                if (n < len)
                {
                    // the first failing read: n bytes were fine, the rest of this chunk is narrowed down
                    Narrow(off + n, len - n, err, bad, sector);
                }
                off += len;
                done += len;
                pos = off;
                if (o.RestBetweenReads > TimeSpan.Zero) _clock.Sleep(o.RestBetweenReads, ct);
                if (o.BytesPerSecond > 0)
                {
                    var due = TimeSpan.FromSeconds((done - doneAtStart) / (double)o.BytesPerSecond);
                    var el = _clock.Now - t0;
                    if (due > el) _clock.Sleep(due - el, ct);
                }
                if (o.Checkpoint is not null && done - lastCheckpoint >= o.CheckpointEvery) { o.Checkpoint(off, bad, done); lastCheckpoint = done; }
                if (progress is not null && _clock.Now - lastProgress >= o.ProgressEvery) { lastProgress = _clock.Now; progress(Progress(off)); }
            }
        }
        return Finish(MediaScanOutcome.Completed, null, ranges.Count > 0 ? Math.Max(pos, ranges[^1].End) : pos);
    }

    /// <summary>Reads [off, off+len); returns how many bytes read fine before the first error (len if none).</summary>
    private int ReadFully(long off, int len, out int errno)
    {
        int got = 0;
        errno = 0;
        while (got < len)
        {
            _reads++;
            int n = _dev.Read(off + got, _buf.AsSpan(got, len - got));
            if (n < 0) { errno = -n; return got; }
            if (n == 0) { errno = 5; return got; } // the device ended early: treat as unreadable
            got += n;
        }
        return got;
    }

    private void Narrow(long off, long len, int firstErrno, List<BadRange> bad, int sector)
    {
        if (len <= sector)
        {
            int e = ReadFully(off, (int)len, out int errno) == len ? 0 : errno;
            if (e == 0) return;
            if (bad.Count > 0 && bad[^1].End == off && bad[^1].Errno == e) bad[^1] = bad[^1] with { Length = bad[^1].Length + len };
            else bad.Add(new BadRange(off, len, e));
            return;
        }
        long sectors = len / sector;
        long part = Math.Max(1, (sectors + 15) / 16) * sector;
        for (long p = off; p < off + len; p += part)
        {
            long l = Math.Min(part, off + len - p);
            if (ReadFully(p, (int)l, out _) == l) continue;
            Narrow(p, l, firstErrno, bad, sector);
        }
    }
}

/// <summary>A resumable scan's persisted state (one small JSON file per filesystem).</summary>
public sealed record MediaScanCheckpoint
{
    public int Version { get; init; } = 1;
    public required string Mount { get; init; }
    public required string Device { get; init; }
    public long DeviceSize { get; init; }
    public long NextOffset { get; init; }
    public long DoneBytes { get; init; }
    public List<BadRangeDto> Bad { get; init; } = [];
    public DateTimeOffset Updated { get; init; }
    public bool Complete { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, MediaJsonContext.Default.MediaScanCheckpoint);

    /// <summary>Parse; null (with a reason) on malformed input.</summary>
    public static MediaScanCheckpoint? FromJson(string json, out string? error)
    {
        error = null;
        try
        {
            var c = JsonSerializer.Deserialize(json, MediaJsonContext.Default.MediaScanCheckpoint);
            if (c is null || c.NextOffset < 0 || c.Mount is null || c.Device is null) { error = "checkpoint is empty or invalid"; return null; }
            return c;
        }
        catch (JsonException e) { error = $"checkpoint is not valid JSON: {e.Message}"; return null; }
        catch (NotSupportedException e) { error = $"checkpoint is not valid: {e.Message}"; return null; }
    }

    /// <summary>Whether this checkpoint belongs to the same filesystem and device (else start over).</summary>
    public bool Matches(string mount, string device, long size) => Mount == mount && Device == device && DeviceSize == size && !Complete;
}

public sealed record BadRangeDto(long Offset, long Length, int Errno)
{
    public BadRange ToRange() => new(Offset, Length, Errno);
    public static BadRangeDto From(BadRange r) => new(r.Offset, r.Length, r.Errno);
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    Converters = [typeof(ExactStringJsonConverter)])] // the mount point is compared as it was: exact
[JsonSerializable(typeof(MediaScanCheckpoint))]
internal sealed partial class MediaJsonContext : JsonSerializerContext;

using System.Buffers.Binary;
using System.Globalization;
using FsHealer.Text;
using FsHealer.Xfs;
using System.Diagnostics;

namespace FsHealer.Media;

/// <summary>Which XFS device to verify (<c>enum xfs_device</c>).</summary>
public enum XfsVerifyDevice : uint { Data = 1, Log = 2, Rt = 3 }

/// <summary><c>struct xfs_verify_media</c> (40 bytes, fs/xfs/libxfs/xfs_fs.h, Linux 7.0). Offsets are 512-byte daddrs.</summary>
public struct VerifyMediaRequest
{
    public const uint FlagReport = 1;
    public const int Size = 40;
    public uint Device, Flags;
    public ulong StartDaddr, EndDaddr;
    public uint IoError, MaxIoSize, RestUs, Pad;

    public readonly void Encode(Span<byte> b)
    {
        if (b.Length < Size) throw new ArgumentException("buffer shorter than 40 bytes", nameof(b));
        BinaryPrimitives.WriteUInt32LittleEndian(b, Device);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(b[8..], StartDaddr);
        BinaryPrimitives.WriteUInt64LittleEndian(b[16..], EndDaddr);
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], IoError);
        BinaryPrimitives.WriteUInt32LittleEndian(b[28..], MaxIoSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[32..], RestUs);
        BinaryPrimitives.WriteUInt32LittleEndian(b[36..], Pad);
    }

    public static VerifyMediaRequest Decode(ReadOnlySpan<byte> b)
    {
        if (b.Length < Size) throw new ArgumentException("buffer shorter than 40 bytes", nameof(b));
        return new VerifyMediaRequest
        {
            Device = BinaryPrimitives.ReadUInt32LittleEndian(b), Flags = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]),
            StartDaddr = BinaryPrimitives.ReadUInt64LittleEndian(b[8..]), EndDaddr = BinaryPrimitives.ReadUInt64LittleEndian(b[16..]),
            IoError = BinaryPrimitives.ReadUInt32LittleEndian(b[24..]), MaxIoSize = BinaryPrimitives.ReadUInt32LittleEndian(b[28..]),
            RestUs = BinaryPrimitives.ReadUInt32LittleEndian(b[32..]), Pad = BinaryPrimitives.ReadUInt32LittleEndian(b[36..]),
        };
    }
}

/// <summary>The ioctl as an interface: returns 0 or a positive errno; updates the request in place.</summary>
public interface IVerifyMediaIoctl
{
    int Call(ref VerifyMediaRequest request);
}

/// <summary>Options of xfs_io's <c>verifymedia [-d|-l|-r] [-R] [-b maxio] [-s rest_us] [start [end]]</c>
/// (xfsprogs 7.x, xfs_io(8)); byte offsets as given by the user.</summary>
public sealed record VerifyMediaOptions
{
    public XfsVerifyDevice Device { get; init; } = XfsVerifyDevice.Data;
    public bool Report { get; init; }
    public ulong StartBytes { get; init; }
    public ulong? EndBytes { get; init; }
    public uint MaxIo { get; init; }
    public uint RestUs { get; init; }
    /// <summary>fshealer extension: narrow each failed read down to the 512-byte sector (extra ioctl calls with max_io 512).</summary>
    public bool Pinpoint { get; init; }
}

/// <summary>One media error found by the ioctl path: byte offset/length and the errno.</summary>
public readonly record struct VerifyMediaError(XfsVerifyDevice Device, ulong Offset, ulong Length, int Errno);

public sealed record VerifyMediaResult(int ExitCode, ulong VerifiedBytes, ulong RequestedBytes, ulong StartBytes, int Calls,
    TimeSpan Elapsed, IReadOnlyList<VerifyMediaError> Errors, int? IoctlErrno);

/// <summary>
/// The <c>xfs_io verifymedia</c> loop: call XFS_IOC_VERIFY_MEDIA until the range is done; the kernel advances
/// <c>me_start_daddr</c> past what verified, and sets <c>me_ioerror</c> only when nothing verified in that call,
/// so a call that stopped short is simply repeated from the new start to learn the errno. A failed read is
/// reported as one error line for the failed I/O (<c>min(maxio or 1 MiB, remaining)</c>) and the scan continues
/// after it. EINTR (fatal signal) and any other ioctl failure end the loop with the ioctl error line.
/// </summary>
public static class VerifyMediaTool
{
    public const ulong ToEnd = ulong.MaxValue;
    public const uint DefaultMaxIo = 1 << 20;

    /// <summary>Probe: start=1, end=0 does nothing on a kernel with the ioctl (returns 0), else ENOTTY/EINVAL...</summary>
    public static int Probe(IVerifyMediaIoctl k)
    {
        var r = new VerifyMediaRequest { Device = (uint)XfsVerifyDevice.Data, StartDaddr = 1, EndDaddr = 0 };
        return k.Call(ref r);
    }

    public static string DeviceName(XfsVerifyDevice d) => d switch { XfsVerifyDevice.Log => "logdev", XfsVerifyDevice.Rt => "rtdev", _ => "datadev" };

    public static HealthDomain Domain(XfsVerifyDevice d) => d switch { XfsVerifyDevice.Log => HealthDomain.LogDev, XfsVerifyDevice.Rt => HealthDomain.RtDev, _ => HealthDomain.DataDev };

    public static VerifyMediaResult Run(IVerifyMediaIoctl k, VerifyMediaOptions o, string file, Action<string> stdout, Action<string> stderr,
        Func<TimeSpan>? clock = null, CancellationToken ct = default)
    {
        clock ??= StopwatchClock();
        var t0 = clock();
        ulong start = o.StartBytes / 512;
        ulong end = o.EndBytes is { } e ? (e >= ulong.MaxValue - 511 ? ToEnd : (e + 511) / 512) : ToEnd;
        var errors = new List<VerifyMediaError>();
        var r = new VerifyMediaRequest { Device = (uint)o.Device, Flags = o.Report ? VerifyMediaRequest.FlagReport : 0, MaxIoSize = o.MaxIo, RestUs = o.RestUs };
        ulong verified = 0, firstStart = start;
        ulong requestedEnd = end;
        int calls = 0;
        while (start < end)
        {
            if (ct.IsCancellationRequested)
            {
                stderr($"xfs_io: ioctl(XFS_IOC_VERIFY_MEDIA) [\"{file}\"]: {Errno.Message(4)}");
                return new(1, verified, Bytes(requestedEnd - firstStart), o.StartBytes, calls, clock() - t0, errors, 4);
            }
            r.StartDaddr = start; r.EndDaddr = end; r.IoError = 0; r.Pad = 0;
            int rc = k.Call(ref r);
            calls++;
            if (rc != 0)
            {
                stderr($"xfs_io: ioctl(XFS_IOC_VERIFY_MEDIA) [\"{file}\"]: {Errno.Message(rc)}");
                return new(1, verified, Bytes(requestedEnd - firstStart), o.StartBytes, calls, clock() - t0, errors, rc);
            }
            // the kernel clamps the end to the device size
            if (r.EndDaddr < end) { end = r.EndDaddr; requestedEnd = end; }
            ulong before = start;
            ulong newStart = Math.Clamp(r.StartDaddr, start, Math.Max(start, end));
            ulong verifiedThisCall(ulong ns) => ns - before;
            verified += Bytes(newStart - start);
            start = newStart;
            if (r.IoError != 0)
            {
                ulong io = Math.Max(512UL, o.MaxIo == 0 ? DefaultMaxIo : o.MaxIo) / 512;
                ulong len = Math.Min(io, end - start);
                if (len == 0) len = 1;
                var found = o.Pinpoint && len > 1 ? Pinpoint(k, r, start, start + len, ref calls) : null;
                if (found is null || found.Count == 0) found = [new VerifyMediaError(o.Device, Bytes(start), Bytes(len), (int)r.IoError)];
                foreach (var err in found) { errors.Add(err); stderr(FormatError(err)); }
                verified += Bytes(len) - found.Aggregate(0UL, (a, x) => a + x.Length);
                start += len;
            }
            else if (start < end && verifiedThisCall(newStart) == 0)
            {
                // nothing verified and no error: the kernel always advances or fails; stop instead of spinning
                stderr($"xfs_io: ioctl(XFS_IOC_VERIFY_MEDIA) [\"{file}\"]: kernel made no progress at daddr {start}");
                return new(1, verified, Bytes(requestedEnd - firstStart), o.StartBytes, calls, clock() - t0, errors, null);
            }
        }
        if (end < firstStart) requestedEnd = firstStart;
        var elapsed = clock() - t0;
        ulong total = Bytes(requestedEnd - firstStart);
        foreach (var line in FormatReport("verified", verified, total, Bytes(firstStart), calls, elapsed)) stdout(line);
        return new(errors.Count > 0 ? 1 : 0, verified, total, Bytes(firstStart), calls, elapsed, errors, null);
    }

    /// <summary>Re-verify a failed read [s, e) one 512-byte sector per read, so that each bad sector is named;
    /// adjacent bad sectors with the same errno are merged.</summary>
    private static List<VerifyMediaError> Pinpoint(IVerifyMediaIoctl k, VerifyMediaRequest template, ulong s, ulong e, ref int calls)
    {
        var list = new List<VerifyMediaError>();
        var dev = (XfsVerifyDevice)template.Device;
        while (s < e)
        {
            var r = template;
            r.StartDaddr = s; r.EndDaddr = e; r.IoError = 0; r.MaxIoSize = 512; r.Pad = 0;
            int rc = k.Call(ref r);
            calls++;
            if (rc != 0) return list;
            ulong ns = Math.Clamp(r.StartDaddr, s, e);
            if (r.IoError != 0)
            {
                var x = new VerifyMediaError(dev, Bytes(s), 512, (int)r.IoError);
                if (list.Count > 0 && list[^1].Offset + list[^1].Length == x.Offset && list[^1].Errno == x.Errno)
                    list[^1] = list[^1] with { Length = list[^1].Length + 512 };
                else list.Add(x);
                s++;
            }
            else if (ns == s) return list; // no progress and no error: give up pinpointing
            else s = ns;
        }
        return list;
    }

    private static ulong Bytes(ulong daddr) => daddr > ulong.MaxValue / 512 ? ulong.MaxValue : daddr * 512;

    /// <summary><c>datadev: verify error at offset B length B: strerror</c>.</summary>
    public static string FormatError(VerifyMediaError e) =>
        $"{DeviceName(e.Device)}: verify error at offset {e.Offset} length {e.Length}: {Errno.Message(e.Errno)}";

    /// <summary>xfs_io's report_io_times: "VERB X/Y bytes at offset Z" and "SIZE, N ops; T sec (RATE/sec and R ops/sec)".</summary>
    public static string[] FormatReport(string verb, ulong done, ulong total, ulong offset, int ops, TimeSpan elapsed)
    {
        double secs = Math.Max(elapsed.TotalSeconds, 1e-6);
        return
        [
            $"{verb} {done}/{total} bytes at offset {offset}",
            string.Create(CultureInfo.InvariantCulture, $"{CvtStr(done)}, {ops} ops; {secs:0.0000} sec ({CvtStr(done / secs)}/sec and {ops / secs:0.0000} ops/sec)"),
        ];
    }

    private static readonly (double Unit, string Name)[] Units =
        [(1L << 60, "EiB"), (1L << 50, "PiB"), (1L << 40, "TiB"), (1L << 30, "GiB"), (1L << 20, "MiB"), (1L << 10, "KiB")];

    /// <summary>xfs_io cvtstr: "%.f UNIT" when exact, else "%.3f UNIT"; below 1 KiB "bytes".</summary>
    public static string CvtStr(double value)
    {
        foreach (var (unit, name) in Units)
            if (value >= unit) return Fmt(value / unit, name);
        return Fmt(value, "bytes");
        static string Fmt(double v, string n) => (v == Math.Floor(v) ? v.ToString("0", CultureInfo.InvariantCulture) : v.ToString("0.000", CultureInfo.InvariantCulture)) + " " + n;
    }

    /// <summary>xfs cvtnum: a number with an optional suffix (b=512 blocks, s=512 sectors, k/m/g/t/p/e binary). Null when not numeric.</summary>
    public static ulong? ParseNumber(string s)
    {
        s = s.Trim();
        if (s.Length == 0) return null;
        ulong mult = 1;
        char last = char.ToLowerInvariant(s[^1]);
        int idx = "kmgtpe".IndexOf(last);
        if (idx >= 0) { mult = 1UL << (10 * (idx + 1)); s = s[..^1]; }
        else if (last is 'b' or 's') { mult = 512; s = s[..^1]; }
        ulong v;
        bool ok = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out v)
            : ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        if (!ok) return null;
        return v > ulong.MaxValue / mult ? null : v * mult;
    }

    private static Func<TimeSpan> StopwatchClock()
    {
        var sw = Stopwatch.StartNew();
        return () => sw.Elapsed;
    }
}

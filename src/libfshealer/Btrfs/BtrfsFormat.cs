using System.Globalization;

namespace FsHealer.Btrfs;

/// <summary>Human-readable output for `fshealer btrfs status/scrub`.</summary>
public static class BtrfsFormat
{
    public static string Bytes(ulong n)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        double v = n; int u = 0;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return u == 0 ? $"{n}B" : v.ToString("0.00", CultureInfo.InvariantCulture) + units[u];
    }

    public static IEnumerable<string> FsHeader(string mountPoint, BtrfsFsInfo fs)
    {
        yield return $"{mountPoint}: btrfs fsid {fs.FsidText}, {fs.NumDevices} device(s), nodesize {fs.NodeSize}, sectorsize {fs.SectorSize}, csum {BtrfsAbi.CsumTypeName(fs.CsumType)}, generation {fs.Generation}";
    }

    public static string DeviceLine(BtrfsDevInfo dev, DevStatCounters? counters, string? countersError)
    {
        string c = counters is { } k ? k.ToString() : $"counters unavailable: {countersError}";
        string health = counters is { } kk && kk.Total > 0 ? "ERRORS" : counters is null ? "?" : "ok";
        return $"  devid {dev.Devid} {dev.Path} size {Bytes(dev.TotalBytes)} used {Bytes(dev.BytesUsed)} [{health}] {c}";
    }

    public static string ProgressLine(ulong devid, string path, ScrubProgress p, ulong bytesUsed)
    {
        string pct = bytesUsed > 0
            ? (Math.Min(100.0, 100.0 * p.BytesScrubbed / bytesUsed)).ToString("0.0", CultureInfo.InvariantCulture) + "%"
            : "?";
        return $"  devid {devid} {path}: scrubbed {Bytes(p.BytesScrubbed)} ({pct} of used), errors {p.ErrorsFound}, corrected {p.CorrectedErrors}, uncorrectable {p.UncorrectableErrors}";
    }

    public static IEnumerable<string> ResultLines(ScrubOutcome o)
    {
        yield return o.Message;
        var p = o.Progress;
        if (o.Kind is ScrubOutcomeKind.Completed or ScrubOutcomeKind.Cancelled)
            yield return $"    data extents {p.DataExtentsScrubbed}, tree extents {p.TreeExtentsScrubbed}, data {Bytes(p.DataBytesScrubbed)}, tree {Bytes(p.TreeBytesScrubbed)}; " +
                         $"read_errors {p.ReadErrors} csum_errors {p.CsumErrors} verify_errors {p.VerifyErrors} super_errors {p.SuperErrors} " +
                         $"malloc_errors {p.MallocErrors} unverified_errors {p.UnverifiedErrors} no_csum {p.NoCsum} csum_discards {p.CsumDiscards}; " +
                         $"corrected {p.CorrectedErrors} uncorrectable {p.UncorrectableErrors}";
    }
}

/// <summary>Parses sizes like "4096", "10M", "1.5GiB", "20MiB/s" (binary units) for --limit.</summary>
/// <summary>Sizes and rates ("50M", "1.5GiB/s"): <see cref="FsHealer.Text.Units.TryParseSize"/>, the one parser.</summary>
public static class ByteSize
{
    public static bool TryParse(string? text, out ulong bytes, out string? error) => FsHealer.Text.Units.TryParseSize(text, out bytes, out error);
}

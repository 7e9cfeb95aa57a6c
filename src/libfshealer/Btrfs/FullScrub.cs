namespace FsHealer.Btrfs;

/// <summary>What a full scrub of a mounted btrfs (every device, one after the other) says about it.</summary>
public enum FullScrubVerdict
{
    /// <summary>Every device scrubbed to the end, nothing wrong found.</summary>
    Clean,
    /// <summary>Every device scrubbed to the end; errors were found and all rewritten from a good copy.</summary>
    Corrected,
    /// <summary>Errors no good copy covers (or a read-only scrub found errors it did not repair): damage.</summary>
    Uncorrectable,
    /// <summary>The scrub did not cover the filesystem (could not start, cancelled, a device failed, another scrub ran).</summary>
    Failed,
}

/// <summary>A full scrub, as the scheduled check sees it (pure). <paramref name="Devices"/>: one outcome per device
/// scrubbed; <paramref name="DamagedFiles"/>: files the uncorrectable errors hit (from the kernel log);
/// <paramref name="Error"/>: why it could not run at all; <paramref name="Killed"/>: cancelled (budget, stop).</summary>
public sealed record FullScrubResult(IReadOnlyList<ScrubOutcome> Devices, bool ReadOnly, IReadOnlyList<string> DamagedFiles,
    IReadOnlyList<string> Notes, string? Error = null, bool Killed = false)
{
    public static FullScrubResult Failed(string error) => new([], false, [], [], error);

    /// <summary>Device node per devid (as BTRFS_IOC_DEV_INFO named it).</summary>
    public IReadOnlyDictionary<ulong, string> Paths { get; init; } = new Dictionary<ulong, string>();

    /// <summary>The device nodes with uncorrectable errors.</summary>
    public IEnumerable<string> BadDevices => Bad.Select(o => Paths.TryGetValue(o.Devid, out var p) ? p : $"devid {o.Devid}").Distinct();

    public ulong Corrected => Sum(o => o.Corrected);
    public ulong Uncorrectable => Sum(o => o.Uncorrectable);
    public ulong ErrorsFound => Sum(o => o.Progress.ErrorsFound);
    public ulong BytesScrubbed => Sum(o => o.Progress.BytesScrubbed);

    private ulong Sum(Func<ScrubOutcome, ulong> f)
    {
        ulong n = 0;
        foreach (var d in Devices) n += f(d);
        return n;
    }

    public FullScrubVerdict Verdict =>
        Error is not null || Killed || Devices.Count == 0 || Devices.Any(d => d.Kind != ScrubOutcomeKind.Completed) ? FullScrubVerdict.Failed
        : Uncorrectable > 0 || (ReadOnly && ErrorsFound > 0) ? FullScrubVerdict.Uncorrectable
        : Corrected > 0 ? FullScrubVerdict.Corrected
        : FullScrubVerdict.Clean;

    /// <summary>The devices with uncorrectable errors (or, read-only, with errors found), for the problem event.</summary>
    public IEnumerable<ScrubOutcome> Bad => Devices.Where(d => d.Uncorrectable > 0 || (ReadOnly && d.Progress.ErrorsFound > 0));

    /// <summary>One line for the log and the events: what the scrub did, per device where it matters.</summary>
    public string Describe()
    {
        if (Error is { } e) return $"full scrub not run: {e}";
        string devs = $"{Devices.Count} device(s), {BytesScrubbed} bytes";
        string per = string.Join("; ", Devices.Select(d => d.Message));
        return Verdict switch
        {
            FullScrubVerdict.Clean => $"full scrub{(ReadOnly ? " (read-only)" : "")} of {devs}: no errors",
            FullScrubVerdict.Corrected => $"full scrub of {devs}: {Corrected} error(s) found and corrected from good copies ({per})",
            FullScrubVerdict.Uncorrectable => $"full scrub{(ReadOnly ? " (read-only)" : "")} of {devs}: {Uncorrectable} UNCORRECTABLE error(s)" +
                (ReadOnly && Uncorrectable == 0 ? $" ({ErrorsFound} error(s) found, not repaired: read-only scrub)" : "") +
                $", {Corrected} corrected ({string.Join("; ", Bad.Select(d => d.Message))})" +
                (DamagedFiles.Count > 0 ? $"; files hurt: {string.Join(", ", DamagedFiles.Take(20))}" : ""),
            _ => Killed ? $"full scrub cancelled after {devs}" : $"full scrub incomplete: {per}",
        };
    }
}

/// <summary>Something that scrubs every device of one mounted btrfs and waits for the end (the filesystem's
/// <see cref="Live.BtrfsHealer"/>: one scrub per device at a time, counters taken in, the clean-scrub baseline kept).</summary>
public interface IBtrfsFullScrub
{
    FullScrubResult ScrubAll(string why, bool readOnly, bool idleIo, CancellationToken abort);
}

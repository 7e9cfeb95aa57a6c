namespace FsHealer.Kmsg;

/// <summary>A refused mount, as the kernel log explained it: the device, whether the filesystem on it is damaged (an
/// offline check/repair is the remedy) and why, the lines that said so. <see cref="Final"/>: a line said the mount
/// failed; otherwise the evidence stood alone for <see cref="MountFailureReporter.Settle"/> and the caller must confirm
/// that the device is not mounted.</summary>
public sealed record MountFailureReport(string Filesystem, string Device, bool Damage, bool Final,
    IReadOnlyList<MountFailureReason> Reasons, int? Errno, IReadOnlyList<string> Lines)
{
    /// <summary>The repair tool an administrator (or a policy) runs on the unmounted device.</summary>
    public string Remedy => Filesystem switch
    {
        "xfs" => "xfs_repair", "ext4" => "e2fsck -f", "btrfs" => "btrfs check (then --repair if it says so)", _ => "fsck",
    };

    public string Describe()
    {
        string dev = FsHealer.Text.DeviceName.AsPath(Device)!;
        string why = string.Join(", ", Reasons.Distinct().Select(r => r.ToString()));
        return Damage
            ? $"{dev}: {Filesystem} mount failed: the filesystem is damaged ({why}{(Errno is { } e ? $", errno {e}" : "")}); it stays unmounted until repaired offline ({Remedy} on {dev}); kernel: {Lines[0]}"
            : $"{dev}: {Filesystem} mount failed ({why}{(Errno is { } e2 ? $", errno {e2}" : "")}): not damage (unsupported feature or missing device); kernel: {Lines[0]}";
    }
}

/// <summary>
/// Pure: kernel-log mount-failure lines (<see cref="MountFailureLog"/>) in, one report per refused mount out. Lines of
/// one device within <see cref="Settle"/> belong together (the kernel prints evidence, then "open_ctree failed" or
/// the like); a final line ends the mount attempt; evidence without a final line is reported after
/// <see cref="Settle"/> (the caller confirms the device is not mounted). One report per device per
/// <see cref="RepeatWindow"/> (a retrying mount unit would otherwise flood).
/// </summary>
public sealed class MountFailureReporter
{
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(3);
    public static readonly TimeSpan RepeatWindow = TimeSpan.FromMinutes(10);
    private const int MaxDevices = 256;

    private sealed class Pending
    {
        public required string Filesystem;
        public DateTimeOffset First;
        public readonly List<MountFailureEvent> Lines = [];
    }

    private readonly Dictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _reported = new(StringComparer.Ordinal);

    /// <summary>Take in the lines read now (may be empty: settles waiting evidence); returns the reports due.</summary>
    public List<MountFailureReport> Observe(IEnumerable<MountFailureEvent> lines, DateTimeOffset now)
    {
        var due = new List<MountFailureReport>();
        foreach (var k in _reported.Where(kv => now - kv.Value >= RepeatWindow).Select(kv => kv.Key).ToList()) _reported.Remove(k);
        foreach (var l in lines)
        {
            if (!_pending.TryGetValue(l.Device, out var p))
            {
                if (_pending.Count >= MaxDevices) continue;
                _pending[l.Device] = p = new Pending { Filesystem = l.Filesystem, First = now };
            }
            if (p.Lines.Count < 20) p.Lines.Add(l);
            if (l.Final) { _pending.Remove(l.Device); Emit(p, true, now, due); }
        }
        foreach (var (dev, p) in _pending.Where(kv => now - kv.Value.First >= Settle).ToList())
        {
            _pending.Remove(dev);
            Emit(p, false, now, due);
        }
        return due;
    }

    private void Emit(Pending p, bool final, DateTimeOffset now, List<MountFailureReport> due)
    {
        var dev = p.Lines[0].Device;
        if (_reported.ContainsKey(dev)) return;
        bool damage = p.Lines.Any(l => l.Damage);
        // evidence alone that is not damage says nothing worth a report
        if (!final && !damage) return;
        _reported[dev] = now;
        var lines = p.Lines.OrderByDescending(l => l.Damage).ThenBy(l => l.Final).ToList();
        due.Add(new MountFailureReport(p.Filesystem, dev, damage, final, [.. lines.Select(l => l.Reason)],
            lines.Select(l => l.Errno).FirstOrDefault(e => e is not null), [.. lines.Select(l => l.Message)]));
    }
}

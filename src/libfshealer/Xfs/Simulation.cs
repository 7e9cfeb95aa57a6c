using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Text;
using FsHealer.Xfs;

namespace FsHealer.Xfs;

/// <summary>
/// A scripted scrub backend: the outcome of each repair is chosen per structure name ("directory=fail") with a
/// default. Outcomes: success, unnecessary (NO_REPAIR_NEEDED), xfail (XFAIL), fail (CORRUPT), errno:N (ioctl error).
/// Used by `fshealer replay` (the policy dry-run) and by the scenario tests.
/// </summary>
public sealed class SimulatedXfsTarget : IXfsTarget
{
    private readonly Dictionary<string, string> _outcomes;
    private readonly string _default;
    private readonly object _lock = new();
    private readonly List<ScrubRequest> _calls = [];

    public SimulatedXfsTarget(string mountpoint, IReadOnlyDictionary<string, string>? outcomes = null, string defaultOutcome = "success")
    {
        _handle = new Handle(this);
        CurrentMountpoint = mountpoint;
        _outcomes = outcomes is null ? new() : new(outcomes);
        _default = defaultOutcome;
    }

    public string CurrentMountpoint { get; set; }
    public bool HasParentPointers { get; set; }
    /// <summary>Non-zero: OpenForRepair fails with this errno (ESTALE simulates "a different filesystem is mounted there").</summary>
    public int ReopenErrno { get; set; }
    /// <summary>Paths by inode, for the parent-pointer lookup.</summary>
    public Dictionary<ulong, string> Paths { get; } = [];
    /// <summary>Called before each scrub (tests use it to block a worker).</summary>
    public Action<ScrubRequest>? BeforeScrub { get; set; }
    public int OpenCount;
    /// <summary>Keep every scrub call for <see cref="Calls"/> (tests). `fshealer replay` turns it off: a recorded storm
    /// must not grow the process by 24 bytes per repair. <see cref="CallCount"/> counts either way.</summary>
    public bool RecordCalls { get; init; } = true;
    public long CallCount;
    private readonly Handle _handle;

    public IReadOnlyList<ScrubRequest> Calls { get { lock (_lock) return [.. _calls]; } }

    public int OpenForRepair(out IScrubHandle? handle)
    {
        Interlocked.Increment(ref OpenCount);
        if (ReopenErrno != 0) { handle = null; return ReopenErrno; }
        handle = _handle;   // stateless: one for every caller, nothing allocated per repair
        return 0;
    }

    public string? LookupPath(ulong ino, uint gen) => HasParentPointers && Paths.TryGetValue(ino, out var p) ? p : null;

    private static readonly FlagMap[] StructureMaps =
        [XfsHealthTables.FsStructures, XfsHealthTables.AgStructures, XfsHealthTables.InodeStructures, XfsHealthTables.RtGroupStructures];

    public static string StructureName(uint scrubType)
    {
        foreach (var map in StructureMaps)
            foreach (var e in map.Entries)
                if (e.ScrubType == scrubType) return e.Name;
        return $"type{scrubType}";
    }

    /// <summary>Apply an outcome name to a request: returns errno, sets out flags.</summary>
    public static int Apply(string outcome, ref ScrubRequest req)
    {
        req.Flags &= ~0xFEu;
        switch (outcome)
        {
            case "success": return 0;
            case "unnecessary": req.Flags |= ScrubFlags.OFlagNoRepairNeeded; return 0;
            case "xfail": req.Flags |= ScrubFlags.OFlagXFail; return 0;
            case "fail": req.Flags |= ScrubFlags.OFlagCorrupt; return 0;
            default:
                if (outcome.StartsWith("errno:", StringComparison.Ordinal) && int.TryParse(outcome.AsSpan(6), out var e) && e > 0) return e;
                return Errno.EINVAL;
        }
    }

    private sealed class Handle(SimulatedXfsTarget t) : IScrubHandle
    {
        public int Scrub(ref ScrubRequest req)
        {
            t.BeforeScrub?.Invoke(req);
            Interlocked.Increment(ref t.CallCount);
            if (t.RecordCalls) lock (t._lock) t._calls.Add(req);
            var name = StructureName(req.Type);
            var outcome = t._outcomes.TryGetValue(name, out var o) ? o : t._default;
            return Apply(outcome, ref req);
        }

        public void Dispose() { }
    }
}

/// <summary>A unit manager that records start requests instead of running systemctl.</summary>
public sealed class RecordingUnitManager(bool succeed = true) : IUnitManager
{
    private readonly List<string> _started = [];
    public bool Succeed { get; set; } = succeed;
    public IReadOnlyList<string> Started { get { lock (_started) return [.. _started]; } }
    public bool StartNoBlock(string unit)
    {
        lock (_started) _started.Add(unit);
        return Succeed;
    }
}

/// <summary>Reads records from an in-memory buffer, in chunks of a chosen size (to exercise partial reads).</summary>
public sealed class MemoryRecordSource(byte[] data, int chunk = int.MaxValue) : IRecordSource
{
    private int _pos;
    public int Read(Span<byte> buffer)
    {
        int n = Math.Min(Math.Min(buffer.Length, chunk), data.Length - _pos);
        data.AsSpan(_pos, n).CopyTo(buffer);
        _pos += n;
        return n;
    }
}

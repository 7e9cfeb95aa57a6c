using FsHealer.Kmsg;
using FsHealer.Model;
using FsHealer.Text;

namespace FsHealer.Btrfs;

/// <summary>A member device of one btrfs, as the kernel log may name it ("loop3" in the "(device …)" prefix,
/// "/dev/loop3" inside the text).</summary>
public readonly record struct BtrfsMember(ulong Devid, string Path);

/// <summary>What one batch of kernel-log lines means for one btrfs: the lines to publish (each once per object and
/// window), how many repeats were folded, which devices to scrub and why, and whether the counters should be read
/// now.</summary>
public sealed record BtrfsLogBatch(IReadOnlyList<BtrfsKernelEvent> Publish, int Repeats, IReadOnlyList<ulong> ScrubDevids,
    string? ScrubWhy, bool PollCounters)
{
    public static readonly BtrfsLogBatch Empty = new([], 0, [], null, false);
    public bool IsEmpty => Publish.Count == 0 && Repeats == 0 && ScrubDevids.Count == 0 && !PollCounters;
}

/// <summary>
/// The btrfs kernel log as a trigger (issue 17, defect 3): the kernel repairs a bad metadata copy from the good one
/// ("checksum verify failed … read error corrected") without moving the device error counters, so these lines are
/// the only trace. Pure: decoded lines (<see cref="BtrfsKernelLog"/>) of any filesystem in, for one filesystem: the
/// lines that are about it (by device: the "(device X)" prefix or the member the line names is one of its devices),
/// each object reported once per <see cref="RepeatWindow"/> (the kernel prints a line per read and per mirror), the
/// devices to scrub (the member a line names, else every device), and whether to read the counters now. Lines a
/// scrub prints ("scrub: fixed up …", "unable to fixup") are published but never start a scrub (they are a scrub's own
/// findings); fatal lines (transaction abort, forced read-only) are published, a read-only filesystem is not scrubbed.
/// </summary>
public sealed class BtrfsKernelLogTrigger
{
    /// <summary>The same object (kind, member, logical, inode, offset) is reported at most once per window.</summary>
    public static readonly TimeSpan RepeatWindow = TimeSpan.FromMinutes(1);
    /// <summary>Objects remembered for the window; beyond this the oldest are forgotten (a storm cannot grow memory).</summary>
    public const int MaxRemembered = 4096;

    private readonly Dictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);

    /// <summary>The class and severity each kind of line is published as (a data table, not an if-chain).</summary>
    public static readonly IReadOnlyDictionary<BtrfsLogKind, (EventClass Class, Severity Severity)> EventOf =
        new Dictionary<BtrfsLogKind, (EventClass, Severity)>
        {
            [BtrfsLogKind.DataChecksumFailed] = (EventClass.MediaError, Severity.Error),
            [BtrfsLogKind.MetadataChecksumFailed] = (EventClass.MetadataCorrupt, Severity.Error),
            [BtrfsLogKind.MetadataBadBlock] = (EventClass.MetadataCorrupt, Severity.Error),
            [BtrfsLogKind.ParentTransidMismatch] = (EventClass.MetadataCorrupt, Severity.Error),
            [BtrfsLogKind.CorruptTreeItem] = (EventClass.MetadataCorrupt, Severity.Error),
            // the kernel rewrote the bad copy: nothing is lost, but a device returned bad data and the rest of it is
            // unverified until a scrub has read it
            [BtrfsLogKind.ReadErrorCorrected] = (EventClass.MediaError, Severity.Warning),
            [BtrfsLogKind.ScrubFixedUp] = (EventClass.MediaError, Severity.Warning),
            [BtrfsLogKind.ScrubUnableToFixup] = (EventClass.DataLost, Severity.Critical),
            [BtrfsLogKind.ScrubChecksumError] = (EventClass.MediaError, Severity.Error),
            [BtrfsLogKind.ScrubSuperBlockError] = (EventClass.MetadataCorrupt, Severity.Error),
            [BtrfsLogKind.TransactionAborted] = (EventClass.Shutdown, Severity.Critical),
            [BtrfsLogKind.FilesystemError] = (EventClass.Shutdown, Severity.Critical),
            [BtrfsLogKind.ForcedReadOnly] = (EventClass.Shutdown, Severity.Critical),
        };

    /// <summary>Kinds that a scrub prints about what it found: never a reason for another scrub.</summary>
    private static readonly HashSet<BtrfsLogKind> ScrubOwn =
    [
        BtrfsLogKind.ScrubFixedUp, BtrfsLogKind.ScrubUnableToFixup, BtrfsLogKind.ScrubChecksumError, BtrfsLogKind.ScrubSuperBlockError,
    ];

    /// <summary>True when the line is about the filesystem with these members (its prefix device or the member it
    /// names is one of them).</summary>
    public static bool Concerns(BtrfsKernelEvent e, IReadOnlyList<BtrfsMember> members) =>
        members.Any(m => KmsgClassifier.SameDevice(e.Device, m.Path) || (e.MemberDevice is { } md && SamePath(md, m.Path)));

    private static bool SamePath(string kernel, string path) =>
        KmsgClassifier.SameDevice(kernel.StartsWith("/dev/", StringComparison.Ordinal) ? kernel[5..] : kernel, path);

    /// <summary>The member a line names inside its text, if it is one of <paramref name="members"/>.</summary>
    public static BtrfsMember? MemberOf(BtrfsKernelEvent e, IReadOnlyList<BtrfsMember> members)
    {
        if (e.MemberDevice is not { } md) return null;
        foreach (var m in members) if (SamePath(md, m.Path)) return m;
        return null;
    }

    /// <summary>One line for people: what the kernel said, naming the device and, where the line says, the logical
    /// address, inode and mirror.</summary>
    public static string Describe(BtrfsKernelEvent e, string mount)
    {
        string what = e.Kind switch
        {
            BtrfsLogKind.DataChecksumFailed => "data checksum failed",
            BtrfsLogKind.MetadataChecksumFailed => "metadata checksum failed",
            BtrfsLogKind.MetadataBadBlock => "bad tree block",
            BtrfsLogKind.ParentTransidMismatch => "tree block has a stale generation (parent transid verify failed)",
            BtrfsLogKind.CorruptTreeItem => "tree checker rejected a block",
            BtrfsLogKind.ReadErrorCorrected => e.IsMetadata ? "read error corrected by the kernel (metadata copy rewritten from the good mirror)" : "read error corrected by the kernel (data copy rewritten from the good mirror)",
            BtrfsLogKind.ScrubFixedUp => "scrub fixed up an error",
            BtrfsLogKind.ScrubUnableToFixup => "scrub was unable to fix up an error (no good copy)",
            BtrfsLogKind.ScrubChecksumError => "scrub found a checksum error",
            BtrfsLogKind.ScrubSuperBlockError => "scrub found a bad superblock copy",
            BtrfsLogKind.DeviceErrorCounters => "device error counters rose",
            BtrfsLogKind.TransactionAborted => "transaction aborted",
            BtrfsLogKind.FilesystemError => "filesystem error",
            BtrfsLogKind.ForcedReadOnly => "forced read-only",
            _ => e.Kind.ToString(),
        };
        var parts = new List<string>(6) { $"device {DeviceName.AsPath(e.MemberDevice ?? e.Device)}" };
        if (LogicalOf(e) is { } l) parts.Add($"logical {l}");
        if (e.Inode is { } ino && !(e.Kind == BtrfsLogKind.ReadErrorCorrected && ino == 0)) parts.Add($"inode {ino}" + (e.Root is { } r ? $" root {r}" : ""));
        if (e.FileOffset is { } off && e.Inode is > 0) parts.Add($"offset {off}");
        if (e.Sector is { } s) parts.Add($"sector {s}");
        if (e.Mirror is { } mi) parts.Add($"mirror {mi}");
        if (e.Path is { } p) parts.Add($"path {p}");
        if (e.Errno is { } en) parts.Add($"errno {en}");
        return $"{mount}: btrfs kernel log: {what} ({string.Join(", ", parts)})";
    }

    /// <summary>The event published for a line (null for kinds that are not published on their own: counter lines,
    /// which the counter poll reports).</summary>
    public static FsEvent? ToEvent(BtrfsKernelEvent e, string mount, string? fsId)
    {
        if (!EventOf.TryGetValue(e.Kind, out var cs)) return null;
        return new FsEvent
        {
            Class = cs.Class, Severity = cs.Severity, Mount = mount, FsType = "btrfs", Message = Describe(e, mount),
            Device = DeviceName.AsPath(e.MemberDevice ?? e.Device),
            Inode = e.Inode is { } i && i != 0 ? i : null, Errno = e.Errno, Path = e.Path,
            // the object: kind and logical address (dedup key in notifications)
            Structure = LogicalOf(e) is { } lg ? $"{e.Kind} logical {lg}" : e.Kind.ToString(),
            FsId = fsId,
        };
    }

    /// <summary>The logical address a line is about: its own, or for a metadata read-repair ("ino 0 off L") the
    /// offset, which is then the tree block's logical address.</summary>
    public static ulong? LogicalOf(BtrfsKernelEvent e) =>
        e.Logical ?? (e.Kind == BtrfsLogKind.ReadErrorCorrected && e.Inode == 0 ? e.FileOffset : null);

    /// <summary>What ties a damage line to the repair line that names the member: the tree block's logical address,
    /// or for data the inode and file offset.</summary>
    private static string? MatchKey(BtrfsKernelEvent e) => e.Kind switch
    {
        BtrfsLogKind.ReadErrorCorrected when e.Inode is > 0 => $"I{e.Inode}:{e.FileOffset}",
        BtrfsLogKind.DataChecksumFailed => $"I{e.Inode}:{e.FileOffset}",
        _ => LogicalOf(e) is { } l ? $"L{l}" : null,
    };

    private readonly List<(string? Match, string Why)> _deferred = [];

    /// <summary>Take in a batch of decoded lines (any filesystem's; may be empty) at <paramref name="now"/>; returns what
    /// they mean for the filesystem with <paramref name="members"/>. <paramref name="autoScrub"/> false: report only.
    /// A damage line that does not name the member (the "(device X)" prefix is the device the filesystem was mounted
    /// from, not the bad copy's) waits one batch for the repair line that names it; when none comes, every device is
    /// scrubbed. Call it at every read of the log, also when nothing came, so that waiting lines are decided.</summary>
    public BtrfsLogBatch Observe(IEnumerable<BtrfsKernelEvent> lines, IReadOnlyList<BtrfsMember> members, DateTimeOffset now, bool autoScrub = true)
    {
        List<BtrfsKernelEvent>? publish = null;
        int repeats = 0;
        bool poll = false, scrubAll = false, fatal = false;
        var scrub = new SortedSet<ulong>();
        var why = new List<string>();
        var named = new HashSet<string>(StringComparer.Ordinal);
        var unnamed = new List<(string? Match, string Why)>();
        foreach (var e in lines)
        {
            if (!Concerns(e, members)) continue;
            if (e.Kind == BtrfsLogKind.DeviceErrorCounters) { poll = true; continue; }
            if (e.Outcome == BtrfsLogOutcome.Fatal) fatal = true;
            string key = $"{e.Kind}|{e.MemberDevice ?? e.Device}|{LogicalOf(e)}|{e.Inode}|{e.FileOffset}|{e.Sector}";
            bool repeat = _seen.TryGetValue(key, out var at) && now - at < RepeatWindow;
            if (repeat) repeats++;
            else
            {
                Remember(key, now);
                (publish ??= []).Add(e);
            }
            if (ScrubOwn.Contains(e.Kind) || e.Outcome == BtrfsLogOutcome.Fatal) continue;
            string w = e.Kind + (LogicalOf(e) is { } l ? $" at logical {l}" : "") + $" on {DeviceName.AsPath(e.MemberDevice ?? e.Device)}";
            // damage, a kernel read-repair or a lost block outside a scrub: scrub the member named
            if (MemberOf(e, members) is { } m)
            {
                if (MatchKey(e) is { } mk) { named.Add(mk); Remember("named|" + mk, now); }
                if (repeat) continue;   // this object's scrub was asked for within the window
                scrub.Add(m.Devid);
                if (why.Count < 3) why.Add(w);
            }
            else if (!repeat) unnamed.Add((MatchKey(e), w));
        }
        // lines of the previous batch that named no member: resolved by a repair line since, else every device
        foreach (var (mk, w) in _deferred)
        {
            if (mk is not null && (named.Contains(mk) || (_seen.TryGetValue("named|" + mk, out var t) && now - t < RepeatWindow))) continue;
            scrubAll = true;
            if (why.Count < 3) why.Add(w);
        }
        _deferred.Clear();
        foreach (var u in unnamed)
            if (u.Match is null || !named.Contains(u.Match)) _deferred.Add(u);
        if (scrubAll) foreach (var m in members) scrub.Add(m.Devid);
        if (fatal || !autoScrub) { scrub.Clear(); _deferred.Clear(); }
        if (publish is null && repeats == 0 && scrub.Count == 0 && !poll) return BtrfsLogBatch.Empty;
        return new BtrfsLogBatch(publish ?? [], repeats, [.. scrub], scrub.Count > 0 ? "kernel log: " + string.Join("; ", why) : null, poll || scrub.Count > 0);
    }

    /// <summary>Lines waiting for a repair line that names their member (tests).</summary>
    public int Waiting => _deferred.Count;

    private void Remember(string key, DateTimeOffset now)
    {
        if (_seen.Count >= MaxRemembered)
        {
            // forget what is outside the window; if the storm is all inside it, forget the oldest half
            foreach (var k in _seen.Where(kv => now - kv.Value >= RepeatWindow).Select(kv => kv.Key).ToList()) _seen.Remove(k);
            if (_seen.Count >= MaxRemembered)
                foreach (var k in _seen.OrderBy(kv => kv.Value).Take(MaxRemembered / 2).Select(kv => kv.Key).ToList()) _seen.Remove(k);
        }
        _seen[key] = now;
    }

    /// <summary>How many objects are remembered now (tests: bounded).</summary>
    public int Remembered => _seen.Count;
}

using System.Globalization;
using System.Text.RegularExpressions;

namespace FsHealer.Kmsg;

/// <summary>What a btrfs kernel-log line reports.</summary>
public enum BtrfsLogKind
{
    /// <summary>"csum failed root R ino I off O [logical L] csum X expected csum Y mirror M" — a data block read back wrong.</summary>
    DataChecksumFailed,
    /// <summary>"checksum verify failed on logical L mirror M wanted X found Y level N" — a tree block read back wrong.</summary>
    MetadataChecksumFailed,
    /// <summary>A tree block that is not what its parent points at: bad start, level, fsid, owner; "read time tree
    /// block corruption detected".</summary>
    MetadataBadBlock,
    /// <summary>"parent transid verify failed on logical L mirror M wanted W found F" — a stale or misdirected write.</summary>
    ParentTransidMismatch,
    /// <summary>The tree checker rejected an item: "corrupt leaf: …" / "corrupt node: …".</summary>
    CorruptTreeItem,
    /// <summary>"read error corrected: ino I off O (dev D sector S)" — the kernel rewrote a bad copy from a good one
    /// (ino 0 = metadata). The device error counters do not move for metadata: this line is the only trace.</summary>
    ReadErrorCorrected,
    /// <summary>"[scrub: ]fixed up error at logical L on dev D [physical P]".</summary>
    ScrubFixedUp,
    /// <summary>"[scrub: ]unable to fixup (regular) error at logical L on dev D [physical P]" — no good copy.</summary>
    ScrubUnableToFixup,
    /// <summary>"[scrub: ]checksum error at logical L on dev D, physical P[,] root R[,] inode I[,] offset O[,] length N[,]
    /// links K (path: P)" — the data block scrub found bad, with the file it belongs to.</summary>
    ScrubChecksumError,
    /// <summary>"scrub: super block at physical P devid D has bad csum | has bad generation G expect E".</summary>
    ScrubSuperBlockError,
    /// <summary>"bdev D errs: wr W, rd R, flush F, corrupt C, gen G" — the device error counters after a rise.</summary>
    DeviceErrorCounters,
    /// <summary>"Transaction aborted (error -E)": the filesystem stops writing.</summary>
    TransactionAborted,
    /// <summary>"BTRFS: error (device X[ state S]) in function:line: errno=-E text" (__btrfs_handle_fs_error): the
    /// filesystem hit an error it cannot continue from; it goes read-only (at mount: the mount fails).</summary>
    FilesystemError,
    /// <summary>"forced readonly".</summary>
    ForcedReadOnly,
}

/// <summary>How bad a line is for the filesystem, independent of the kind's details.</summary>
public enum BtrfsLogOutcome
{
    /// <summary>Damage seen; whether another copy served the read is said by a later line (ReadErrorCorrected /
    /// EIO to the reader).</summary>
    Damage,
    /// <summary>The kernel repaired a copy from a good one: nothing is wrong now, but the device returned bad data.</summary>
    Corrected,
    /// <summary>No good copy: data or metadata is lost until restored.</summary>
    Uncorrectable,
    /// <summary>Device error counters (cumulative; compare with a baseline).</summary>
    Counters,
    /// <summary>The filesystem stopped writing (transaction abort, forced read-only).</summary>
    Fatal,
}

/// <summary>The device error counters a "bdev … errs:" line carries.</summary>
public readonly record struct BtrfsDeviceErrors(ulong Write, ulong Read, ulong Flush, ulong Corruption, ulong Generation);

/// <summary>One decoded btrfs kernel-log line. <see cref="Device"/> is the filesystem's device name in the line's
/// "(device X)" prefix (the kernel's s_id: the device it was mounted from); <see cref="MemberDevice"/> the member a
/// line names inside its text (multi-device filesystems: the copy that was bad or repaired).</summary>
public sealed record BtrfsKernelEvent
{
    public required BtrfsLogKind Kind { get; init; }
    public required BtrfsLogOutcome Outcome { get; init; }
    public required string Device { get; init; }
    /// <summary>The kernel's filesystem state letters (": state EA" → "EA"), when printed.</summary>
    public string? State { get; init; }
    public string? MemberDevice { get; init; }
    public ulong? Logical { get; init; }
    public ulong? Physical { get; init; }
    public ulong? Sector { get; init; }
    public int? Mirror { get; init; }
    public long? Root { get; init; }
    public ulong? Inode { get; init; }
    public ulong? FileOffset { get; init; }
    public int? Level { get; init; }
    /// <summary>Checksum or transid the block should have had / had ("0x…" for checksums).</summary>
    public string? Wanted { get; init; }
    public string? Found { get; init; }
    /// <summary>A scrub checksum error's file, relative to its subvolume.</summary>
    public string? Path { get; init; }
    /// <summary>Negative errno the kernel printed (transaction abort).</summary>
    public int? Errno { get; init; }
    public BtrfsDeviceErrors? Counters { get; init; }
    public required string Message { get; init; }

    /// <summary>Metadata (tree blocks), as opposed to file data: read-repair of metadata prints ino 0.</summary>
    public bool IsMetadata => Kind is BtrfsLogKind.MetadataChecksumFailed or BtrfsLogKind.MetadataBadBlock
        or BtrfsLogKind.ParentTransidMismatch or BtrfsLogKind.CorruptTreeItem
        || (Kind == BtrfsLogKind.ReadErrorCorrected && Inode == 0);
}

/// <summary>One row of <see cref="BtrfsKernelLog.Patterns"/>: the text after the "BTRFS level (device X): " prefix.
/// Named groups fill the event's fields by name (logical, physical, sector, mirror, root, ino, off, level, wanted,
/// found, path, member, errno, wr, rd, flush, corrupt, gen).</summary>
public sealed record BtrfsLogPattern(BtrfsLogKind Kind, BtrfsLogOutcome Outcome, string Pattern)
{
    public Regex Regex { get; } = KernelLogRegex.Create("^(?:" + Pattern + ")");
}

/// <summary>
/// Decodes the btrfs kernel-log lines that report damage, repairs and device errors into typed events naming the
/// device. Formats checked against fs/btrfs (inode.c btrfs_print_data_csum_error and print_data_reloc_error,
/// disk-io.c btrfs_validate_extent_buffer, bio.c btrfs_repair_io_failure, volumes.c btrfs_dev_stat_print_on_error,
/// scrub.c scrub_stripe_report_errors, messages.c) and against lines a Linux 6.18 kernel printed on this project's
/// test machine; the older scrub wording (no "scrub: " prefix, no "physical", commas in the checksum error) is
/// accepted too. Pure: a string in, an event or null out. First matching row wins.
/// </summary>
public static class BtrfsKernelLog
{
    /// <summary>"BTRFS error (device loop0 state EA): …" (messages.c: level word, s_id, " state " + letters, as Linux
    /// 6.18 prints it; a ": state " form was proposed on the list, and is accepted too).</summary>
    private static readonly Regex Prefix = KernelLogRegex.Create(@"^BTRFS (?:emergency|emerg|alert|critical|crit|error|err|warning|notice|info|debug) \(device (?<dev>[^\s:)]+)(?::? state (?<state>[A-Za-z]+))?\): (?<body>.*)$");

    /// <summary>__btrfs_handle_fs_error: "BTRFS: error (device X[ state S]) in function:line: errno=-5 IO failure".</summary>
    private static readonly Regex FsError = KernelLogRegex.Create(@"^BTRFS: error \(device (?<dev>[^\s:)]+)(?::? state (?<state>[A-Za-z]+))?\) in [^:\s]+:\d+: errno=(?<errno>-?\d+)");

    private const string Num = @"\d+";
    private const string Csum = @"0x[0-9a-fA-F]+";

    public static readonly BtrfsLogPattern[] Patterns =
    [
        new(BtrfsLogKind.DataChecksumFailed, BtrfsLogOutcome.Damage,
            $@"csum failed root (?<root>-?{Num}) ino (?<ino>{Num}) off (?<off>{Num})(?: logical (?<logical>{Num}))? csum (?<found>{Csum}) expected csum (?<wanted>{Csum}) mirror (?<mirror>{Num})"),
        new(BtrfsLogKind.MetadataChecksumFailed, BtrfsLogOutcome.Damage,
            $@"checksum verify failed on logical (?<logical>{Num}) mirror (?<mirror>{Num}) wanted (?<wanted>{Csum}) found (?<found>{Csum}) level (?<level>{Num})"),
        new(BtrfsLogKind.ParentTransidMismatch, BtrfsLogOutcome.Damage,
            $@"parent transid verify failed on (?:logical )?(?<logical>{Num})(?: mirror (?<mirror>{Num}))? wanted (?<wanted>{Num}) found (?<found>{Num})"),
        new(BtrfsLogKind.MetadataBadBlock, BtrfsLogOutcome.Damage,
            $@"bad tree block start,? (?:mirror (?<mirror>{Num}) )?want (?<logical>{Num}) have (?<found>{Num})"),
        new(BtrfsLogKind.MetadataBadBlock, BtrfsLogOutcome.Damage,
            $@"bad tree block level,? mirror (?<mirror>{Num}) level (?<level>{Num}) on logical (?<logical>{Num})"),
        new(BtrfsLogKind.MetadataBadBlock, BtrfsLogOutcome.Damage,
            $@"level verify failed on logical (?<logical>{Num}) mirror (?<mirror>{Num}) wanted (?<wanted>{Num}) found (?<found>{Num})"),
        new(BtrfsLogKind.MetadataBadBlock, BtrfsLogOutcome.Damage,
            $@"bad fsid on (?:logical|block) (?<logical>{Num})(?: mirror (?<mirror>{Num}))?"),
        new(BtrfsLogKind.MetadataBadBlock, BtrfsLogOutcome.Damage,
            $@"read time tree block corruption detected on logical (?<logical>{Num})(?: mirror (?<mirror>{Num}))?"),
        new(BtrfsLogKind.CorruptTreeItem, BtrfsLogOutcome.Damage,
            $@"corrupt (?:leaf|node)[:,] .*?block=(?<logical>{Num})"),
        new(BtrfsLogKind.CorruptTreeItem, BtrfsLogOutcome.Damage, @"corrupt (?:leaf|node)[:,] "),
        new(BtrfsLogKind.ReadErrorCorrected, BtrfsLogOutcome.Corrected,
            $@"read error corrected: ino (?<ino>{Num}) off (?<off>{Num}) \(dev (?<member>\S+) sector (?<sector>{Num})\)"),
        new(BtrfsLogKind.ScrubFixedUp, BtrfsLogOutcome.Corrected,
            $@"(?:scrub: )?fixed up error at logical (?<logical>{Num}) on (?:dev (?<member>\S+?)(?: physical (?<physical>{Num}))?|mirror (?<mirror>{Num}))$"),
        new(BtrfsLogKind.ScrubUnableToFixup, BtrfsLogOutcome.Uncorrectable,
            $@"(?:scrub: )?unable to fixup \(regular\) error at logical (?<logical>{Num}) on (?:dev (?<member>\S+?)(?: physical (?<physical>{Num}))?|mirror (?<mirror>{Num}))$"),
        new(BtrfsLogKind.ScrubChecksumError, BtrfsLogOutcome.Damage,
            $@"(?:scrub: )?checksum error at logical (?<logical>{Num}) on dev (?<member>[^,\s]+),? physical (?<physical>{Num}),? root (?<root>-?{Num}),? inode (?<ino>{Num}),? offset (?<off>{Num})(?:,? length {Num},? links {Num} \(path: (?<path>.*)\))?"),
        new(BtrfsLogKind.ScrubChecksumError, BtrfsLogOutcome.Damage,
            $@"(?:scrub: )?checksum error at logical (?<logical>{Num}) on dev (?<member>[^,\s]+),? physical (?<physical>{Num})"),
        new(BtrfsLogKind.ScrubSuperBlockError, BtrfsLogOutcome.Damage,
            $@"(?:scrub: )?super block at physical (?<physical>{Num}) devid {Num} has bad (?:csum|generation (?<found>{Num}) expect (?<wanted>{Num}))"),
        new(BtrfsLogKind.DeviceErrorCounters, BtrfsLogOutcome.Counters,
            $@"bdev (?<member>\S+) errs: wr (?<wr>{Num}), rd (?<rd>{Num}), flush (?<flush>{Num}), corrupt (?<corrupt>{Num}), gen (?<gen>{Num})"),
        new(BtrfsLogKind.TransactionAborted, BtrfsLogOutcome.Fatal, $@"Transaction aborted \(error (?<errno>-?{Num})\)"),
        new(BtrfsLogKind.ForcedReadOnly, BtrfsLogOutcome.Fatal, @"forced readonly"),
    ];

    /// <summary>Decode one kernel-log message (without the kmsg header); null when it is not a btrfs line of interest.</summary>
    public static BtrfsKernelEvent? Decode(string? message)
    {
        if (string.IsNullOrEmpty(message) || !message.StartsWith("BTRFS", StringComparison.Ordinal)) return null;
        if (message.Length > KmsgParser.MaxMessageChars) message = message[..KmsgParser.MaxMessageChars];
        try
        {
            var fe = FsError.Match(message);
            if (fe.Success)
                return new BtrfsKernelEvent
                {
                    Kind = BtrfsLogKind.FilesystemError, Outcome = BtrfsLogOutcome.Fatal, Device = fe.Groups["dev"].Value,
                    State = Opt(fe, "state"), Errno = Int(fe, "errno"), Message = message,
                };
            var p = Prefix.Match(message);
            if (!p.Success) return null;
            var body = p.Groups["body"].Value.TrimEnd();
            foreach (var row in Patterns)
            {
                var m = row.Regex.Match(body);
                if (!m.Success) continue;
                // a number the kernel cannot have printed (overflow): not a line of this format
                if (!NumbersFit(m)) return null;
                BtrfsDeviceErrors? counters = m.Groups["wr"].Success
                    ? new BtrfsDeviceErrors(U64(m, "wr") ?? 0, U64(m, "rd") ?? 0, U64(m, "flush") ?? 0, U64(m, "corrupt") ?? 0, U64(m, "gen") ?? 0)
                    : null;
                return new BtrfsKernelEvent
                {
                    Kind = row.Kind, Outcome = row.Outcome, Device = p.Groups["dev"].Value, State = Opt(p, "state"),
                    MemberDevice = Opt(m, "member"), Logical = U64(m, "logical"), Physical = U64(m, "physical"),
                    Sector = U64(m, "sector"), Mirror = Int(m, "mirror"), Root = I64(m, "root"), Inode = U64(m, "ino"),
                    FileOffset = U64(m, "off"), Level = Int(m, "level"), Wanted = Opt(m, "wanted"), Found = Opt(m, "found"),
                    Path = Opt(m, "path"), Errno = Int(m, "errno"), Counters = counters, Message = message,
                };
            }
        }
        catch (RegexMatchTimeoutException) { }
        return null;
    }

    private static readonly string[] UnsignedGroups = ["logical", "physical", "sector", "ino", "off", "wr", "rd", "flush", "corrupt", "gen"];
    private static readonly string[] SignedGroups = ["mirror", "level", "errno", "root"];

    private static bool NumbersFit(Match m)
    {
        foreach (var g in UnsignedGroups)
            if (m.Groups[g].Success && U64(m, g) is null) return false;
        foreach (var g in SignedGroups)
            if (m.Groups[g].Success && (g == "root" ? I64(m, g) is null : Int(m, g) is null)) return false;
        return true;
    }

    private static string? Opt(Match m, string g) => m.Groups[g] is { Success: true } x ? x.Value : null;
    private static ulong? U64(Match m, string g) =>
        m.Groups[g] is { Success: true } x && ulong.TryParse(x.ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
    private static long? I64(Match m, string g) =>
        m.Groups[g] is { Success: true } x && long.TryParse(x.ValueSpan, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null;
    private static int? Int(Match m, string g) =>
        m.Groups[g] is { Success: true } x && int.TryParse(x.ValueSpan, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null;
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace FsHealer.Kmsg;

/// <summary>One /dev/kmsg record: "prio,seq,ts_usec,flags[,..];message\n" followed by " KEY=value\n" dictionary lines.</summary>
public sealed record KmsgRecord(int Level, int Facility, ulong Sequence, ulong TimestampUsec, char Flags, string Message,
    IReadOnlyList<KeyValuePair<string, string>> Properties)
{
    public string? Property(string key)
    {
        foreach (var kv in Properties) if (kv.Key == key) return kv.Value;
        return null;
    }
}

/// <summary>Parses /dev/kmsg records. Pure: takes what one read(2) returned. Never throws.</summary>
public static class KmsgParser
{
    /// <summary>Longest message kept (the kernel caps records near 1 KiB; anything longer is clipped, not rejected).</summary>
    public const int MaxMessageChars = 4096;

    public static bool TryParse(ReadOnlySpan<byte> record, out KmsgRecord? result, out string? error)
    {
        string text;
        try { text = Encoding.UTF8.GetString(record); }
        catch (ArgumentException) { result = null; error = "kmsg record is not decodable"; return false; }
        return TryParse(text, out result, out error);
    }

    public static bool TryParse(string record, out KmsgRecord? result, out string? error)
    {
        result = null;
        int semi = record.IndexOf(';');
        int nl = record.IndexOf('\n');
        if (semi < 0 || (nl >= 0 && nl < semi)) { error = "kmsg record has no ';' header separator"; return false; }
        var header = record.AsSpan(0, semi);
        Span<Range> fields = stackalloc Range[5];
        int nf = header.Split(fields, ',');
        if (nf < 4) { error = $"kmsg header '{Clip(header.ToString(), 80)}' has {nf} fields, expected at least 4"; return false; }
        if (!uint.TryParse(header[fields[0]], NumberStyles.None, CultureInfo.InvariantCulture, out uint prio)
            || !ulong.TryParse(header[fields[1]], NumberStyles.None, CultureInfo.InvariantCulture, out ulong seq)
            || !ulong.TryParse(header[fields[2]], NumberStyles.None, CultureInfo.InvariantCulture, out ulong ts))
        { error = $"kmsg header '{Clip(header.ToString(), 80)}' has a non-numeric priority, sequence or timestamp"; return false; }
        var flagField = header[fields[3]];
        char flags = flagField.Length > 0 ? flagField[0] : '-';

        int msgEnd = nl < 0 ? record.Length : nl;
        string message = Unescape(record.AsSpan(semi + 1, msgEnd - semi - 1));
        var props = new List<KeyValuePair<string, string>>();
        if (nl >= 0)
        {
            foreach (var line in record.AsSpan(nl + 1).EnumerateLines())
            {
                if (line.Length < 2 || line[0] != ' ') continue;
                int eq = line.IndexOf('=');
                if (eq <= 1) continue;
                props.Add(new(line[1..eq].ToString(), Unescape(line[(eq + 1)..])));
            }
        }
        result = new KmsgRecord((int)(prio & 7), (int)(prio >> 3), seq, ts, flags, message, props);
        error = null;
        return true;
    }

    /// <summary>Undo the kernel's "\xNN" escaping of unprintable bytes; clip to <see cref="MaxMessageChars"/>.</summary>
    public static string Unescape(ReadOnlySpan<char> s)
    {
        if (s.Length > MaxMessageChars) s = s[..MaxMessageChars];
        if (s.IndexOf("\\x") < 0) return s.ToString();
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 4 <= s.Length && s[i + 1] == 'x'
                && byte.TryParse(s.Slice(i + 2, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                sb.Append(b is >= 0x20 and < 0x7f ? (char)b : '?');
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static string Clip(string s, int n) => s.Length <= n ? s : s[..n] + "…";
}

/// <summary>
/// Tracks /dev/kmsg sequence numbers: a jump means records were overwritten before we read them (the kernel also
/// reports that as EPIPE from read). Either way the caller must treat it as "something may have happened: poll".
/// </summary>
public sealed class KmsgSequenceTracker
{
    private ulong? _last;

    /// <summary>Returns how many records were skipped before this one (0 if none or first record).</summary>
    public ulong Observe(ulong seq)
    {
        ulong missed = 0;
        if (_last is ulong last && seq > last + 1) missed = seq - last - 1;
        if (_last is null || seq > _last) _last = seq;
        return missed;
    }

    public ulong? LastSequence => _last;
}

public enum KernelLogKind { Other, Corruption, IoError, Shutdown }

/// <summary>A recognised filesystem line: which filesystem type, which device, what kind, and (XFS shutdowns) the reason mask.</summary>
public readonly record struct KernelFsEvent(string Filesystem, string Device, KernelLogKind Kind, uint ShutdownReasons, string Message);

/// <summary>One row of the pattern table: a filesystem, a regex with a named group "dev", the kind it signals.</summary>
public sealed record KmsgPattern(string Filesystem, string Pattern, KernelLogKind Kind)
{
    public Regex Regex { get; } = KernelLogRegex.Create(Pattern);
}

/// <summary>
/// Recognises corruption / I/O error / shutdown lines of XFS, ext4, btrfs and the block layer. First matching
/// row wins, so specific rows precede generic ones. This is a trigger for polling, never a counter: the kernel
/// rate-limits these messages.
/// </summary>
public static class KmsgClassifier
{
    private const string Xfs = @"^XFS \((?<dev>[^)\s]+)\): ";
    private const string Ext4Err = @"^EXT4-fs (?:error|critical) \(device (?<dev>[^)\s]+)\)";
    private const string Ext4 = @"^EXT4-fs \((?<dev>[^)\s]+)\): ";
    private const string Btrfs = @"^BTRFS (?:emerg|alert|critical|crit|error|warning|notice|info|debug) \(device (?<dev>[^)\s]+)(?: state [A-Za-z]+)?\): ";

    public static readonly KmsgPattern[] Patterns =
    [
        // XFS: shutdown lines carry the SHUTDOWN_* mask in "(0x..)" — same bits as the monitor's shutdown reasons.
        new("xfs", Xfs + @"User initiated shutdown(?: \((?<reasons>0x[0-9a-fA-F]+)\))? received", KernelLogKind.Shutdown),
        new("xfs", Xfs + @".*\((?<reasons>0x[0-9a-fA-F]+)\) detected at .*Shutting down filesystem", KernelLogKind.Shutdown),
        new("xfs", Xfs + @".*(?:Shutting down filesystem|Filesystem has been shut down|shut down due to)", KernelLogKind.Shutdown),
        new("xfs", Xfs + @".*(?:Metadata corruption detected|Metadata CRC error detected|Corruption detected|Corruption of in-memory data|Uncorrected metadata errors detected|Unmount and run xfs_repair|corrupt dinode|bad inode magic)", KernelLogKind.Corruption),
        new("xfs", Xfs + @".*(?:metadata I/O error|log I/O error|[Ww]riteback error|I/O [Ee]rror|read error)", KernelLogKind.IoError),
        new("xfs", Xfs + @".*", KernelLogKind.Other),

        new("ext4", Ext4Err + @".*(?:I/O error|error -5\b|EIO)", KernelLogKind.IoError),
        new("ext4", Ext4Err, KernelLogKind.Corruption),
        new("ext4", Ext4 + @".*(?:Remounting filesystem read-only|shut down requested|shutdown|Aborting journal)", KernelLogKind.Shutdown),
        new("ext4", Ext4 + @".*(?:I/O error|write error|error count since last fsck)", KernelLogKind.IoError),
        new("ext4", @"^Aborting journal on device (?<dev>[^\s]+?)(?:-\d+)?\.?$", KernelLogKind.Shutdown),
        new("ext4", Ext4 + @".*", KernelLogKind.Other),

        new("btrfs", Btrfs + @".*(?:forced readonly|Transaction aborted|transaction aborted)", KernelLogKind.Shutdown),
        new("btrfs", Btrfs + @".*(?:csum failed|checksum verify failed|bad tree block|corrupt (?:leaf|node)|parent transid verify failed|unable to fixup|uncorrectable)", KernelLogKind.Corruption),
        new("btrfs", Btrfs + @".*(?:errs: wr|i/o error|I/O error|read error|write error)", KernelLogKind.IoError),
        new("btrfs", Btrfs + @".*", KernelLogKind.Other),

        new("block", @"^(?:blk_update_request: |critical medium error, |)I/O error, dev (?<dev>[^,\s]+),", KernelLogKind.IoError),
        new("block", @"^Buffer I/O error on dev(?:ice)? (?<dev>[^,\s]+),", KernelLogKind.IoError),
    ];

    /// <summary>Classify one message; null when no row matches.</summary>
    public static KernelFsEvent? Classify(string message)
    {
        if (string.IsNullOrEmpty(message)) return null;
        if (message.Length > KmsgParser.MaxMessageChars) message = message[..KmsgParser.MaxMessageChars];
        foreach (var p in Patterns)
        {
            var m = p.Regex.Match(message);
            if (!m.Success) continue;
            uint reasons = 0;
            var r = m.Groups["reasons"];
            if (r.Success) uint.TryParse(r.ValueSpan[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out reasons);
            return new KernelFsEvent(p.Filesystem, m.Groups["dev"].Value, p.Kind, reasons, message);
        }
        return null;
    }

    /// <summary>Device names match with or without a "/dev/" prefix.</summary>
    public static bool SameDevice(string kernelName, string device)
    {
        if (device.StartsWith("/dev/", StringComparison.Ordinal)) device = device[5..];
        if (device.StartsWith("mapper/", StringComparison.Ordinal)) device = device[7..];
        return string.Equals(kernelName, device, StringComparison.Ordinal);
    }
}

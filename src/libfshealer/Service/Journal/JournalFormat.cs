using FsHealer.Service.Notify;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using FsHealer.Model;
using FsHealer.Text;

namespace FsHealer.Service.Journal;

/// <summary>
/// systemd journal native protocol (one datagram of fields): <c>KEY=VALUE\n</c>, or for values containing a
/// line feed <c>KEY\n</c> + 64-bit little-endian length + value + <c>\n</c>. Field names: uppercase letters,
/// digits and underscore, not starting with an underscore or digit, at most 64 characters.
/// <para>Names are bytes (<see cref="PathBytes"/>): MESSAGE — what journalctl prints as the line — is shown with
/// <see cref="PathBytes.Show"/> (no newline, no escape sequence, <c>x\xff</c> distinct from <c>x\uFFFD</c>); every other
/// field carries the exact bytes (MOUNT=, FILE_PATH=, ...; journalctl shows a non-UTF-8 value as a blob, and
/// <c>journalctl -o export/json</c> gives the bytes).</para>
/// </summary>
public static class JournalFormat
{
    /// <summary>A fixed 128-bit MESSAGE_ID per event class (journalctl MESSAGE_ID=... filters on it). Never change
    /// an existing value: administrators' filters and catalogs depend on it.</summary>
    public static readonly IReadOnlyDictionary<EventClass, string> MessageIds = new Dictionary<EventClass, string>
    {
        [EventClass.Attached] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a201",
        [EventClass.Detached] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a202",
        [EventClass.Moved] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a203",
        [EventClass.Deferred] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a204",
        [EventClass.MetadataSick] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a205",
        [EventClass.MetadataCorrupt] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a206",
        [EventClass.MetadataHealthy] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a207",
        [EventClass.IoError] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a208",
        [EventClass.MediaError] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a209",
        [EventClass.DataLost] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a20a",
        [EventClass.Shutdown] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a20b",
        [EventClass.EventsLost] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a20c",
        [EventClass.ErrorsMissed] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a20d",
        [EventClass.CounterRise] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a20e",
        [EventClass.RepairSucceeded] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a20f",
        [EventClass.RepairUnnecessary] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a210",
        [EventClass.RepairProbablyOk] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a211",
        [EventClass.RepairFailed] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a212",
        [EventClass.RepairRefused] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a213",
        [EventClass.FullCheckStarted] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a214",
        [EventClass.FullCheckSuppressed] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a215",
        [EventClass.ScrubFinished] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a216",
        [EventClass.OfflineRepair] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a217",
        [EventClass.CheckScheduled] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a218",
        [EventClass.Diagnostic] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a219",
        [EventClass.Decision] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a21a",
        [EventClass.ActionStarted] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a21b",
        [EventClass.ActionInterrupted] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a21c",
        [EventClass.CheckOverdue] = "6f1c4a0e2b7d4e51a3c9d2e8f0b1a21d",
    };

    /// <summary>syslog priority per severity (a data table).</summary>
    public static readonly IReadOnlyDictionary<Severity, int> Priorities = new Dictionary<Severity, int>
    {
        [Severity.Debug] = 7, [Severity.Info] = 6, [Severity.Notice] = 5, [Severity.Warning] = 4,
        [Severity.Error] = 3, [Severity.Critical] = 2,
    };

    public const string Identifier = "fshealer";

    /// <summary>The fields for one event, in a fixed order.</summary>
    public static List<KeyValuePair<string, string>> Fields(FsEvent e)
    {
        var f = new List<KeyValuePair<string, string>>
        {
            new("MESSAGE", PathBytes.Show(e.Message)),
            new("PRIORITY", Priorities[e.Severity].ToString(CultureInfo.InvariantCulture)),
            new("SYSLOG_IDENTIFIER", Identifier),
            new("MESSAGE_ID", MessageIds[e.Class]),
            new("FSHEALER_CLASS", ClassNames.Of(e.Class)),   // the hooks' spelling: metadata_sick
            new("MOUNT", e.Mount),
            new("FSTYPE", e.FsType),
        };
        if (e.Device is not null) f.Add(new("DEVICE", e.Device));
        if (e.Inode is { } ino) f.Add(new("INODE", ino.ToString(CultureInfo.InvariantCulture)));
        if (e.Path is not null) f.Add(new("FILE_PATH", e.Path));
        if (e.Errno is { } n) { f.Add(new("ERRNO", n.ToString(CultureInfo.InvariantCulture))); f.Add(new("ERRNO_NAME", Errno.Name(n))); }
        if (e.Structure is not null) f.Add(new("STRUCTURE", e.Structure));
        if (e.Count is { } c) f.Add(new("COUNT", c.ToString(CultureInfo.InvariantCulture)));
        if (e.CorrelationId is not null) f.Add(new("CORRELATION_ID", e.CorrelationId));
        return f;
    }

    public static bool IsValidFieldName(string name)
    {
        if (name.Length is 0 or > 64 || name[0] == '_' || char.IsAsciiDigit(name[0])) return false;
        foreach (var c in name) if (!(c is >= 'A' and <= 'Z' || char.IsAsciiDigit(c) || c == '_')) return false;
        return true;
    }

    /// <summary>Encodes one datagram. Invalid field names are skipped (never sent: journald would drop the entry).</summary>
    public static byte[] Encode(IEnumerable<KeyValuePair<string, string>> fields)
    {
        var ms = new MemoryStream();
        Span<byte> len = stackalloc byte[8];
        foreach (var (k, v) in fields)
        {
            if (!IsValidFieldName(k)) continue;
            var key = Encoding.ASCII.GetBytes(k);
            var val = PathBytes.Encode(v);
            ms.Write(key);
            if (Array.IndexOf(val, (byte)'\n') < 0)
            {
                ms.WriteByte((byte)'=');
                ms.Write(val);
            }
            else
            {
                ms.WriteByte((byte)'\n');
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)val.Length);
                ms.Write(len);
                ms.Write(val);
            }
            ms.WriteByte((byte)'\n');
        }
        return ms.ToArray();
    }

    /// <summary>The plain-line fallback (stderr, when no journal is present).</summary>
    public static string PlainLine(FsEvent e) =>
        $"<{Priorities[e.Severity]}>fshealer: {e.Severity.ToString().ToLowerInvariant()}: {PathBytes.Show(e.Headline)}";

    /// <summary>The fields of a plain log line (the daemon's console lines): MESSAGE shown, as for events.</summary>
    public static List<KeyValuePair<string, string>> LogFields(Severity severity, string message) =>
    [
        new("MESSAGE", PathBytes.Show(message)),
        new("PRIORITY", Priorities[severity].ToString(CultureInfo.InvariantCulture)),
        new("SYSLOG_IDENTIFIER", Identifier),
    ];

    /// <summary>The plain-line fallback of a log line.</summary>
    public static string PlainLine(Severity severity, string message) => $"<{Priorities[severity]}>fshealer: {PathBytes.Show(message)}";
}

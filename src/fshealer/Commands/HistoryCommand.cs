using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using FsHealer.Config;
using FsHealer.Config.Live;
using FsHealer.Model;
using Microsoft.Data.Sqlite;
using FsHealer.Service.History.Live;
using FsHealer.Text;

namespace FsHealer.Cli.Commands;

/// <summary><c>fshealer history [--since DURATION|TIME] [--fs MOUNT] [--class C] [--limit N] [--json] [--state-dir DIR]</c>.</summary>
public static class HistoryCommand
{
    public static Command Create()
    {
        var since = new Option<string?>("--since") { Description = "Only events newer than a duration (30m, 2h, 7d) or a time (2026-11-21T10:00Z)" };
        var fs = new Option<string?>("--fs") { Description = "Only events of this mount point" };
        var cls = new Option<string?>("--class") { Description = "Only events of this class (e.g. io_error, repair_succeeded; see fshealer(8) for the list)" };
        var limit = new Option<int>("--limit") { Description = "At most N events (newest)", DefaultValueFactory = _ => 100 };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var stateDir = new Option<string?>("--state-dir") { Description = "State directory (default: from the configuration, /var/lib/fshealer)" };
        var config = new Option<string?>("--config") { Description = $"Configuration file (default {FsHealerConfig.DefaultPath})" };
        var cmd = new Command("history", "Show what fshealer saw and did (from the history database)");
        foreach (var o in new Option[] { since, fs, cls, limit, json, stateDir, config }) cmd.Options.Add(o);
        cmd.SetAction(pr => Run(pr.GetValue(since), pr.GetValue(fs), pr.GetValue(cls), pr.GetValue(limit), pr.GetValue(json),
            StateDir(pr.GetValue(stateDir), pr.GetValue(config), Console.Error), Console.Out, Console.Error, DateTimeOffset.UtcNow));
        return cmd;
    }

    /// <summary>--state-dir, else the configuration's state_dir, else the default.</summary>
    public static string StateDir(string? explicitDir, string? configPath, TextWriter stderr)
    {
        if (explicitDir is not null) return explicitDir;
        var r = ConfigFile.LoadOrDefault(configPath);
        if (!r.Ok)
        {
            foreach (var e in r.Errors) stderr.WriteLine(PathBytes.Show($"fshealer: {e} (using {FsHealerConfig.DefaultStateDir})"));
            return FsHealerConfig.DefaultStateDir;
        }
        return r.Config!.StateDir;
    }

    /// <summary>A duration before <paramref name="now"/> ("30s", "15m", "2h", "7d", "1w", "1h30m"), or a time.</summary>
    public static DateTimeOffset? ParseSince(string s, DateTimeOffset now)
    {
        s = s.Trim();
        if (s.Length > 0 && char.IsAsciiDigit(s[^1]) && !s.Contains('-') && !s.Contains(':')) return null; // a bare number: which unit?
        if (FsHealer.Text.Units.TryParseDuration(s, out var d, out _)) return now - d;
        if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return t;
        return null;
    }

    public static int Run(string? since, string? fs, string? cls, int limit, bool json, string stateDir, TextWriter stdout, TextWriter stderr, DateTimeOffset now)
    {
        var q = new HistoryQuery { Mount = fs, Limit = limit <= 0 ? 100 : limit };
        if (since is not null)
        {
            if (ParseSince(since, now) is not { } t) { stderr.WriteLine($"fshealer: --since \"{since}\": expected a duration like 30m, 2h, 7d or a time like 2026-11-21T10:00Z"); return ExitCodes.Usage; }
            q = q with { Since = t };
        }
        if (cls is not null)
        {
            if (ClassNames.Parse(cls) is not { } c)
            {
                stderr.WriteLine($"fshealer: --class \"{cls}\": unknown event class{ClassNames.DidYouMean(cls)} (one of {string.Join(", ", ClassNames.All)})");
                return ExitCodes.Usage;
            }
            q = q with { Class = c };
        }
        using var store = HistoryStore.Open(stateDir, out var error, out var failure, readOnly: true);
        if (store is null)
        {
            if (failure == HistoryStore.OpenFailure.Missing)
            {
                // no database yet: nothing happened (JSON readers get an empty list, not an error)
                if (json) stdout.WriteLine("[]");
                else stdout.WriteLine($"no events (no history yet: {Path.Combine(stateDir, HistoryStore.FileName)} does not exist)");
                return 0;
            }
            stderr.WriteLine(PathBytes.Show($"fshealer: {error}"));
            return 1;
        }
        List<StoredEvent> rows;
        try { rows = store.Query(q); }
        catch (SqliteException e) { stderr.WriteLine(PathBytes.Show($"fshealer: {store.Path}: {e.Message}")); return 1; }
        rows.Reverse(); // oldest first
        if (json)
        {
            var list = rows.Select(HistoryEventDto.From).ToList();
            stdout.WriteLine(JsonSerializer.Serialize(list, HistoryJsonContext.Default.ListHistoryEventDto));
            return 0;
        }
        foreach (var r in rows)
        {
            var e = r.Event;
            // one line per event: names and messages shown (no control characters; non-UTF-8 bytes as \xNN)
            stdout.WriteLine($"{TimeFormat.Utc(e.Time)} {ClassNames.Of(e.Severity),-8} {ClassNames.Of(e.Class),-19} {PathBytes.Show(e.Mount.Length > 0 ? e.Headline : "-: " + e.Message)}"
                + (e.CorrelationId is { } cid ? $" [{PathBytes.Show(cid)}]" : "")
                + (r.Repeats > 1 ? $" (x{r.Repeats}, the last at {TimeFormat.Utc(r.LastTime ?? e.Time)})" : ""));
        }
        if (rows.Count == 0) stdout.WriteLine("no events");
        return 0;
    }
}

public sealed class HistoryEventDto
{
    public long Id { get; set; }
    public string Time { get; set; } = "";
    public string Class { get; set; } = "";
    public string Severity { get; set; } = "";
    public string Mount { get; set; } = "";
    public string FsType { get; set; } = "";
    public string? Device { get; set; }
    public ulong? Inode { get; set; }
    public string? Path { get; set; }
    public int? Errno { get; set; }
    public string? Structure { get; set; }
    public long? Count { get; set; }
    public string Message { get; set; } = "";
    public string? CorrelationId { get; set; }
    /// <summary>The filesystem's identity ("uuid:…" or "dev:M:m"); null for events recorded before identities were.</summary>
    public string? FsId { get; set; }
    /// <summary>Identical events this row stands for (an event storm folded into one row); 1 for most rows.</summary>
    public long Repeats { get; set; } = 1;
    /// <summary>The time of the last of them (only when <see cref="Repeats"/> &gt; 1).</summary>
    public string? LastTime { get; set; }

    public static HistoryEventDto From(StoredEvent s) => new()
    {
        Id = s.Id, Time = TimeFormat.UtcMillis(s.Event.Time),
        Class = ClassNames.Of(s.Event.Class), Severity = ClassNames.Of(s.Event.Severity), Mount = s.Event.Mount, FsType = s.Event.FsType,
        Device = s.Event.Device, Inode = s.Event.Inode, Path = s.Event.Path, Errno = s.Event.Errno, Structure = s.Event.Structure,
        Count = s.Event.Count, Message = s.Event.Message, CorrelationId = s.Event.CorrelationId, FsId = s.Event.FsId,
        Repeats = s.Repeats, LastTime = s.Repeats > 1 ? TimeFormat.UtcMillis(s.LastTime ?? s.Event.Time) : null,
    };
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(ExactStringJsonConverter)])]
[JsonSerializable(typeof(List<HistoryEventDto>))]
public partial class HistoryJsonContext : JsonSerializerContext;

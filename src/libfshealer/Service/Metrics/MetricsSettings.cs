using System.Text.Json;
using System.Text.Json.Serialization;

namespace FsHealer.Service.Metrics;

/// <summary>The "metrics" section: <c>{ "listen": "127.0.0.1:9723", "socket": "/run/fshealer/metrics.sock",
/// "textfile": "/var/lib/prometheus/node-exporter/fshealer.prom", "textfile_interval_seconds": 60 }</c>. All off by default.</summary>
public sealed class MetricsConfigDto
{
    public string? Listen { get; set; }
    public string? Socket { get; set; }
    public string? Textfile { get; set; }
    public double? TextfileIntervalSeconds { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(MetricsConfigDto))]
internal sealed partial class MetricsJsonContext : JsonSerializerContext;

public sealed record MetricsSettings(string? Listen, string? Socket, string? Textfile, TimeSpan TextfileInterval)
{
    /// <summary>The HTTP listen address: HOST:PORT with a loopback HOST (127.0.0.0/8, [::1], localhost). The exporter
    /// has no TLS and no authentication, so any other address is refused, by <c>config check</c> and by the daemon
    /// alike (one rule, here); expose it through a reverse proxy or use the unix socket or textfile instead.
    /// <paramref name="host"/> is the address in its canonical text form ("127.0.0.1", "::1"). Pure text parsing.</summary>
    public static bool TryParseListen(string hostPort, out string host, out int port, out string? error)
    {
        host = "";
        port = 0;
        var colon = hostPort.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(hostPort.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            error = $"\"{hostPort}\" is not HOST:PORT (e.g. 127.0.0.1:9723)";
            return false;
        }
        var h = hostPort[..colon];
        if (h.StartsWith('[') && h.EndsWith(']')) h = h[1..^1];
        string? loopback = h == "localhost" ? "127.0.0.1" : IsLoopbackV4(h) ? h : IsLoopbackV6(h) ? "::1" : null;
        if (loopback is null)
        {
            error = $"\"{hostPort}\" is not a loopback address (the exporter has no TLS or authentication: listen on 127.0.0.1 or [::1] and put a reverse proxy in front, or use metrics.socket / metrics.textfile)";
            return false;
        }
        host = loopback;
        error = null;
        return true;
    }

    /// <summary>Dotted quad 127.a.b.c, every part 0–255 in decimal.</summary>
    private static bool IsLoopbackV4(string h)
    {
        var parts = h.Split('.');
        return parts.Length == 4 && parts[0] == "127" && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit) && int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) <= 255);
    }

    /// <summary>::1 in any of its spellings (0:0:0:0:0:0:0:1, ::0:1, ...).</summary>
    private static bool IsLoopbackV6(string h)
    {
        if (h.Count(c => c == ':') < 2 || h.Contains(":::")) return false;
        var halves = h.Split("::");
        if (halves.Length > 2) return false;
        static string[] Groups(string s) => s.Length == 0 ? [] : s.Split(':');
        var left = Groups(halves[0]);
        var right = halves.Length == 2 ? Groups(halves[1]) : [];
        int missing = 8 - left.Length - right.Length;
        if (halves.Length == 1 ? missing != 0 : missing < 1) return false;
        var all = left.Concat(Enumerable.Repeat("0", missing)).Concat(right).ToArray();
        if (all.Any(g => g.Length is 0 or > 4 || !g.All(char.IsAsciiHexDigit))) return false;
        return all.Take(7).All(g => Convert.ToInt32(g, 16) == 0) && Convert.ToInt32(all[7], 16) == 1;
    }

    public bool Enabled => Listen is not null || Socket is not null || Textfile is not null;

    /// <summary>The settings when the configuration has no "metrics" section: everything off.</summary>
    public static MetricsSettings Off { get; } = new(null, null, null, TimeSpan.FromSeconds(60));

    /// <summary>The shape of the "metrics" section (its keys and their types), for <see cref="FsHealer.Config.JsonShape"/>.</summary>
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo Shape => MetricsJsonContext.Default.MetricsConfigDto;

    /// <summary>Parses the "metrics" section. Returns null and fills <paramref name="errors"/> ("metrics.x: why") when it is invalid.</summary>
    public static MetricsSettings? Parse(JsonElement? section, List<string> errors) =>
        Parse(section, (path, msg) => errors.Add($"{(path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path)}: {msg}"));

    /// <summary>Parses the "metrics" section; every problem goes to <paramref name="error"/> with its JSON path. Null when there was one.</summary>
    public static MetricsSettings? Parse(JsonElement? section, Action<string, string> error)
    {
        if (section is null || section.Value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return Off;
        int count = 0;
        var problems = new List<FsHealer.Config.JsonProblem>();
        var cleaned = FsHealer.Config.JsonShape.Check(section.Value, Shape, "$.metrics", problems);
        foreach (var p in problems) { count++; error(p.Path, p.Message); }
        // a meaning check on a value the shape check already refused (and dropped) would only repeat it
        var refused = problems.Select(p => p.Path).ToHashSet(StringComparer.Ordinal);
        void Err(string path, string msg) { if (refused.Contains(path)) return; count++; error(path, msg); }
        MetricsConfigDto? dto;
        try { dto = cleaned is null ? null : JsonSerializer.Deserialize(cleaned, MetricsJsonContext.Default.MetricsConfigDto); }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException) { Err("$.metrics", ex.Message); return null; }
        if (dto is null) return null;
        if (dto.Listen is { } l && !TryParseListen(l, out _, out _, out var lerr)) Err("$.metrics.listen", lerr!);
        if (dto.Socket is { } s && !s.StartsWith('/')) Err("$.metrics.socket", $"\"{s}\" is not an absolute path");
        if (dto.Textfile is { } t && (!t.StartsWith('/') || !t.EndsWith(".prom", StringComparison.Ordinal)))
            Err("$.metrics.textfile", $"\"{t}\" must be an absolute path ending in .prom (node_exporter reads only *.prom)");
        if (dto.TextfileIntervalSeconds is { } i && !(i is >= 1 and <= 86400)) Err("$.metrics.textfile_interval_seconds", $"{i} is not between 1 and 86400");
        if (count > 0) return null;
        return new MetricsSettings(dto.Listen, dto.Socket, dto.Textfile, TimeSpan.FromSeconds(dto.TextfileIntervalSeconds ?? 60));
    }
}

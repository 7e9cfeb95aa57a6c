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
        if (dto.Socket is { } s && !s.StartsWith('/')) Err("$.metrics.socket", $"\"{s}\" is not an absolute path");
        if (dto.Textfile is { } t && (!t.StartsWith('/') || !t.EndsWith(".prom", StringComparison.Ordinal)))
            Err("$.metrics.textfile", $"\"{t}\" must be an absolute path ending in .prom (node_exporter reads only *.prom)");
        if (dto.TextfileIntervalSeconds is { } i && !(i is >= 1 and <= 86400)) Err("$.metrics.textfile_interval_seconds", $"{i} is not between 1 and 86400");
        if (count > 0) return null;
        return new MetricsSettings(dto.Listen, dto.Socket, dto.Textfile, TimeSpan.FromSeconds(dto.TextfileIntervalSeconds ?? 60));
    }
}

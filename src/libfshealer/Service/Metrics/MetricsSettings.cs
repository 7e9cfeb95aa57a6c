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

    public static MetricsSettings? Parse(JsonElement? section, List<string> errors)
    {
        if (section is null || section.Value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            return new MetricsSettings(null, null, null, TimeSpan.FromSeconds(60));
        MetricsConfigDto? dto;
        try { dto = section.Value.Deserialize(MetricsJsonContext.Default.MetricsConfigDto); }
        catch (JsonException ex) { errors.Add($"metrics: {ex.Message}"); return null; }
        if (dto is null) { errors.Add("metrics: must be an object"); return null; }
        int before = errors.Count;
        if (dto.Socket is { } s && !s.StartsWith('/')) errors.Add($"metrics.socket: \"{s}\" is not an absolute path");
        if (dto.Textfile is { } t && (!t.StartsWith('/') || !t.EndsWith(".prom", StringComparison.Ordinal)))
            errors.Add($"metrics.textfile: \"{t}\" must be an absolute path ending in .prom (node_exporter reads only *.prom)");
        if (dto.TextfileIntervalSeconds is { } i && !(i is >= 1 and <= 86400)) errors.Add($"metrics.textfile_interval_seconds: {i} is not between 1 and 86400");
        if (errors.Count > before) return null;
        return new MetricsSettings(dto.Listen, dto.Socket, dto.Textfile, TimeSpan.FromSeconds(dto.TextfileIntervalSeconds ?? 60));
    }
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace FsHealer.Core.Metrics;

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
    /// <summary>The HTTP listen address: HOST:PORT with a loopback HOST (127.0.0.0/8, ::1, localhost). The exporter
    /// has no TLS and no authentication, so any other address is refused, by <c>config check</c> and by the daemon
    /// alike (one rule, here); expose it through a reverse proxy or use the unix socket or textfile instead.</summary>
    public static bool TryParseListen(string hostPort, out System.Net.IPAddress address, out int port, out string? error)
    {
        address = System.Net.IPAddress.None;
        port = 0;
        var colon = hostPort.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(hostPort.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            error = $"\"{hostPort}\" is not HOST:PORT (e.g. 127.0.0.1:9723)";
            return false;
        }
        var host = hostPort[..colon];
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        if (!System.Net.IPAddress.TryParse(host == "localhost" ? "127.0.0.1" : host, out var ip) || !System.Net.IPAddress.IsLoopback(ip))
        {
            error = $"\"{hostPort}\" is not a loopback address (the exporter has no TLS or authentication: listen on 127.0.0.1 or [::1] and put a reverse proxy in front, or use metrics.socket / metrics.textfile)";
            return false;
        }
        address = ip;
        error = null;
        return true;
    }

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
        if (dto.Listen is { } l && !TryParseListen(l, out _, out _, out var lerr)) errors.Add($"metrics.listen: {lerr}");
        if (dto.Socket is { } s && !s.StartsWith('/')) errors.Add($"metrics.socket: \"{s}\" is not an absolute path");
        if (dto.Textfile is { } t && (!t.StartsWith('/') || !t.EndsWith(".prom", StringComparison.Ordinal)))
            errors.Add($"metrics.textfile: \"{t}\" must be an absolute path ending in .prom (node_exporter reads only *.prom)");
        if (dto.TextfileIntervalSeconds is { } i && !(i is >= 1 and <= 86400)) errors.Add($"metrics.textfile_interval_seconds: {i} is not between 1 and 86400");
        if (errors.Count > before) return null;
        return new MetricsSettings(dto.Listen, dto.Socket, dto.Textfile, TimeSpan.FromSeconds(dto.TextfileIntervalSeconds ?? 60));
    }
}

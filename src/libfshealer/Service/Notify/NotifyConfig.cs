using FsHealer.Service.Journal;
using System.Text.Json;
using System.Text.Json.Serialization;
using FsHealer.Model;

namespace FsHealer.Service.Notify;

/// <summary>The "notify" section of the configuration file (all optional; safe defaults).</summary>
public sealed class NotifyConfigDto
{
    public string? MinSeverity { get; set; }
    public double? DedupSeconds { get; set; }
    public double? DigestSeconds { get; set; }
    public int? MaxImmediatePerDigest { get; set; }
    public double? SettleSeconds { get; set; }
    public double? HeartbeatSeconds { get; set; }
    public List<ThresholdDto>? Thresholds { get; set; }
    public HooksDto? Hooks { get; set; }
    public EmailDto? Email { get; set; }
    public List<WebhookDto>? Webhooks { get; set; }
}

public sealed class ThresholdDto
{
    public string? Class { get; set; }
    public int Count { get; set; } = 1;
    public double WithinSeconds { get; set; } = 60;
}

public sealed class HooksDto
{
    public bool Enabled { get; set; } = true;
    public string? Dir { get; set; }
    public double? TimeoutSeconds { get; set; }
}

public sealed class EmailDto
{
    public List<string>? To { get; set; }
    public string? From { get; set; }
    public string? Sendmail { get; set; }
}

public sealed class WebhookDto
{
    public string? Url { get; set; }
    /// <summary>json (default), text (ntfy: text/plain body, Title/Priority headers) or slack ({"text": ...}).</summary>
    public string? Format { get; set; }
    public Dictionary<string, string>? Headers { get; set; }
    public double? TimeoutSeconds { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(NotifyConfigDto))]
internal sealed partial class NotifyJsonContext : JsonSerializerContext;

public enum WebhookFormat { Json, Text, Slack }

public sealed record HookSettings(string Dir, TimeSpan Timeout);
public sealed record EmailSettings(IReadOnlyList<string> To, string From, string Sendmail);
public sealed record WebhookSettings(Uri Url, WebhookFormat Format, IReadOnlyDictionary<string, string> Headers, TimeSpan Timeout);

/// <summary>Validated notification settings.</summary>
public sealed record NotifySettings
{
    public NotifyPolicyOptions Policy { get; init; } = new();
    public HookSettings? Hooks { get; init; } = new(DefaultHookDir, TimeSpan.FromSeconds(30));
    public EmailSettings? Email { get; init; }
    public IReadOnlyList<WebhookSettings> Webhooks { get; init; } = [];

    public const string DefaultHookDir = "/etc/fshealer/hooks.d";

    /// <summary>Parses the "notify" section. Returns null and fills <paramref name="errors"/> when it is invalid.</summary>
    public static NotifySettings? Parse(JsonElement? section, List<string> errors, string hostName = "localhost")
    {
        if (section is null || section.Value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            return new NotifySettings { Policy = new NotifyPolicyOptions { HostName = hostName } };
        NotifyConfigDto? dto;
        try { dto = section.Value.Deserialize(NotifyJsonContext.Default.NotifyConfigDto); }
        catch (JsonException ex) { errors.Add($"notify: {ex.Message}"); return null; }
        if (dto is null) { errors.Add("notify: must be an object"); return null; }
        int before = errors.Count;

        var policy = new NotifyPolicyOptions { HostName = hostName };
        if (dto.MinSeverity is { } ms)
        {
            if (Enum.TryParse<Severity>(ms, ignoreCase: true, out var sev) && !int.TryParse(ms, out _)) policy = policy with { MinSeverity = sev };
            else errors.Add($"notify.min_severity: unknown severity \"{ms}\" (one of {string.Join(", ", Enum.GetNames<Severity>()).ToLowerInvariant()})");
        }
        policy = policy with
        {
            DedupWindow = Seconds(dto.DedupSeconds, "dedup_seconds", policy.DedupWindow, errors),
            DigestInterval = Seconds(dto.DigestSeconds, "digest_seconds", policy.DigestInterval, errors),
            SettleTime = Seconds(dto.SettleSeconds, "settle_seconds", policy.SettleTime, errors),
            HeartbeatInterval = dto.HeartbeatSeconds is null or 0 ? null : Seconds(dto.HeartbeatSeconds, "heartbeat_seconds", TimeSpan.Zero, errors),
            MaxImmediatePerInterval = dto.MaxImmediatePerDigest is { } mi ? (mi >= 0 ? mi : Err(errors, "notify.max_immediate_per_digest: must be >= 0", 0)) : policy.MaxImmediatePerInterval,
        };
        var ths = new List<NotifyThreshold>();
        foreach (var t in dto.Thresholds ?? [])
        {
            if (t.Class is null || !Enum.TryParse<EventClass>(t.Class, ignoreCase: true, out var c) || int.TryParse(t.Class, out _))
            { errors.Add($"notify.thresholds: unknown event class \"{t.Class}\" (e.g. {string.Join(", ", Enum.GetNames<EventClass>().Take(6)).ToLowerInvariant()}, ...)"); continue; }
            if (t.Count < 1) { errors.Add($"notify.thresholds[{t.Class}]: count must be >= 1"); continue; }
            if (t.WithinSeconds <= 0) { errors.Add($"notify.thresholds[{t.Class}]: withinSeconds must be > 0"); continue; }
            ths.Add(new NotifyThreshold(c, t.Count, TimeSpan.FromSeconds(t.WithinSeconds)));
        }
        policy = policy with { Thresholds = ths };

        HookSettings? hooks = null;
        if (dto.Hooks is null || dto.Hooks.Enabled)
            hooks = new HookSettings(dto.Hooks?.Dir ?? DefaultHookDir, Seconds(dto.Hooks?.TimeoutSeconds, "hooks.timeoutSeconds", TimeSpan.FromSeconds(30), errors));

        EmailSettings? email = null;
        if (dto.Email is { } em)
        {
            if (em.To is null || em.To.Count == 0 || em.To.Any(string.IsNullOrWhiteSpace)) errors.Add("notify.email.to: needs at least one address");
            else if (em.To.Any(a => a.Contains('\n') || a.Contains('\r'))) errors.Add("notify.email.to: an address contains a line break");
            else email = new EmailSettings(em.To, em.From ?? "fshealer", em.Sendmail ?? "sendmail");
        }

        var hooksList = new List<WebhookSettings>();
        foreach (var w in dto.Webhooks ?? [])
        {
            Uri? u = null;
            if (w.Url is null || !Uri.TryCreate(w.Url, UriKind.Absolute, out u) || (u.Scheme != "http" && u.Scheme != "https"))
            { errors.Add($"notify.webhooks: \"{(u is null ? "(unparseable, redacted)" : $"{u.Scheme}://{u.Host}/...")}\" is not an http(s) URL"); continue; }
            WebhookFormat fmt = WebhookFormat.Json;
            if (w.Format is { } f && !Enum.TryParse(f, ignoreCase: true, out fmt))
            { errors.Add($"notify.webhooks[{Redact(u)}].format: \"{f}\" is not json, text or slack"); continue; }
            hooksList.Add(new WebhookSettings(u, fmt, w.Headers ?? [], Seconds(w.TimeoutSeconds, "webhooks.timeoutSeconds", TimeSpan.FromSeconds(10), errors)));
        }
        if (errors.Count > before) return null;
        return new NotifySettings { Policy = policy, Hooks = hooks, Email = email, Webhooks = hooksList };
    }

    private static T Err<T>(List<string> errors, string msg, T value) { errors.Add(msg); return value; }

    private static TimeSpan Seconds(double? v, string name, TimeSpan dflt, List<string> errors)
    {
        if (v is null) return dflt;
        if (!(v > 0) || v > 365 * 86400.0) { errors.Add($"notify.{name}: {v} is not a positive number of seconds (at most a year)"); return dflt; }
        return TimeSpan.FromSeconds(v.Value);
    }

    /// <summary>A URL safe to log: no user info, no query, no fragment (tokens live there).</summary>
    public static string Redact(Uri u)
    {
        var s = $"{u.Scheme}://{u.Host}{(u.IsDefaultPort ? "" : ":" + u.Port)}{u.AbsolutePath}";
        if (!string.IsNullOrEmpty(u.Query) || !string.IsNullOrEmpty(u.UserInfo)) s += " (credentials redacted)";
        return s;
    }

    public static string Redact(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) ? Redact(u) : "(unparseable URL redacted)";
}

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
    /// <summary>json (default), ntfy (ntfy.sh JSON publish: topic, title, message, priority, tags), text (text/plain
    /// body with Title/Priority/Tags headers) or slack ({"text": ...}).</summary>
    public string? Format { get; set; }
    public Dictionary<string, string>? Headers { get; set; }
    public double? TimeoutSeconds { get; set; }
    /// <summary>ntfy: the topic (default: the last segment of the URL's path).</summary>
    public string? Topic { get; set; }
    /// <summary>ntfy: an access token (sent as "Authorization: Bearer TOKEN"; redacted in logs and config show).</summary>
    public string? Token { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(NotifyConfigDto))]
internal sealed partial class NotifyJsonContext : JsonSerializerContext;

public enum WebhookFormat { Json, Text, Slack, Ntfy }

public sealed record HookSettings(string Dir, TimeSpan Timeout);
public sealed record EmailSettings(IReadOnlyList<string> To, string From, string Sendmail);
/// <summary>One webhook. For <see cref="WebhookFormat.Ntfy"/>, <see cref="Url"/> is where the JSON is posted (the
/// server's root, or the path ntfy is served under) and <see cref="Topic"/> the topic.</summary>
public sealed record WebhookSettings(Uri Url, WebhookFormat Format, IReadOnlyDictionary<string, string> Headers, TimeSpan Timeout)
{
    public string? Topic { get; init; }
    public string? Token { get; init; }
}

/// <summary>Validated notification settings.</summary>
public sealed record NotifySettings
{
    public NotifyPolicyOptions Policy { get; init; } = new();
    public HookSettings? Hooks { get; init; } = new(DefaultHookDir, TimeSpan.FromSeconds(30));
    public EmailSettings? Email { get; init; }
    public IReadOnlyList<WebhookSettings> Webhooks { get; init; } = [];

    public const string DefaultHookDir = "/etc/fshealer/hooks.d";

    /// <summary>The settings when the configuration has no "notify" section.</summary>
    public static NotifySettings Defaults { get; } = new();

    /// <summary>The shape of the "notify" section (its keys and their types), for <see cref="FsHealer.Config.JsonShape"/>.</summary>
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo Shape => NotifyJsonContext.Default.NotifyConfigDto;

    /// <summary>Parses the "notify" section. Returns null and fills <paramref name="errors"/> ("notify.x: why") when it is invalid.</summary>
    public static NotifySettings? Parse(JsonElement? section, List<string> errors, string hostName = "localhost") =>
        Parse(section, (path, msg) => errors.Add($"{(path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path)}: {msg}"), hostName);

    /// <summary>Parses the "notify" section; every problem goes to <paramref name="error"/> with its JSON path
    /// (<c>$.notify.webhooks[0].format</c>). Returns null when there was one.</summary>
    public static NotifySettings? Parse(JsonElement? section, Action<string, string> error, string hostName = "localhost")
    {
        if (section is null || section.Value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            return new NotifySettings { Policy = new NotifyPolicyOptions { HostName = hostName } };
        int count = 0;
        var problems = new List<FsHealer.Config.JsonProblem>();
        var cleaned = FsHealer.Config.JsonShape.Check(section.Value, Shape, "$.notify", problems);
        foreach (var p in problems) { count++; error(p.Path, p.Message); }
        // a meaning check on a value the shape check already refused (and dropped) would only repeat it
        var refused = problems.Select(p => p.Path).ToHashSet(StringComparer.Ordinal);
        void Err(string path, string msg) { if (refused.Contains(path)) return; count++; error(path, msg); }
        NotifyConfigDto? dto;
        try { dto = cleaned is null ? null : System.Text.Json.JsonSerializer.Deserialize(cleaned, NotifyJsonContext.Default.NotifyConfigDto); }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException) { Err("$.notify", ex.Message); return null; }
        if (dto is null) return null;

        var policy = new NotifyPolicyOptions { HostName = hostName };
        if (dto.MinSeverity is { } ms)
        {
            if (Enum.TryParse<Severity>(ms, ignoreCase: true, out var sev) && !int.TryParse(ms, out _)) policy = policy with { MinSeverity = sev };
            else Err("$.notify.min_severity", $"unknown severity \"{ms}\" (one of {string.Join(", ", Enum.GetNames<Severity>()).ToLowerInvariant()})");
        }
        policy = policy with
        {
            DedupWindow = Seconds(dto.DedupSeconds, "$.notify.dedup_seconds", policy.DedupWindow, Err),
            DigestInterval = Seconds(dto.DigestSeconds, "$.notify.digest_seconds", policy.DigestInterval, Err),
            SettleTime = Seconds(dto.SettleSeconds, "$.notify.settle_seconds", policy.SettleTime, Err),
            HeartbeatInterval = dto.HeartbeatSeconds is null or 0 ? null : Seconds(dto.HeartbeatSeconds, "$.notify.heartbeat_seconds", TimeSpan.Zero, Err),
            MaxImmediatePerInterval = dto.MaxImmediatePerDigest is { } mi ? (mi >= 0 ? mi : Fail(Err, "$.notify.max_immediate_per_digest", $"must be 0 or more, got {mi}", 0)) : policy.MaxImmediatePerInterval,
        };
        var ths = new List<NotifyThreshold>();
        var thresholds = dto.Thresholds ?? [];
        for (int i = 0; i < thresholds.Count; i++)
        {
            var t = thresholds[i];
            string p = $"$.notify.thresholds[{i}]";
            if (t is null) continue; // the shape check said why
            if (t.Class is null || ClassNames.Parse(t.Class) is not { } c)
            { Err($"{p}.class", t.Class is null ? "missing: the event class this threshold is for (e.g. io_error)" : $"unknown event class \"{t.Class}\"{ClassNames.DidYouMean(t.Class)} (the classes: {string.Join(", ", ClassNames.All)})"); continue; }
            if (t.Count < 1) { Err($"{p}.count", $"must be 1 or more, got {t.Count}"); continue; }
            if (t.WithinSeconds <= 0) { Err($"{p}.within_seconds", $"must be more than 0, got {t.WithinSeconds}"); continue; }
            ths.Add(new NotifyThreshold(c, t.Count, TimeSpan.FromSeconds(t.WithinSeconds)));
        }
        policy = policy with { Thresholds = ths };

        HookSettings? hooks = null;
        if (dto.Hooks is null || dto.Hooks.Enabled)
        {
            var dir = dto.Hooks?.Dir ?? DefaultHookDir;
            if (dir.Length == 0 || dir[0] != '/') Err("$.notify.hooks.dir", $"must be an absolute path, got \"{dir}\"");
            hooks = new HookSettings(dir, Seconds(dto.Hooks?.TimeoutSeconds, "$.notify.hooks.timeout_seconds", TimeSpan.FromSeconds(30), Err));
        }

        EmailSettings? email = null;
        if (dto.Email is { } em)
        {
            if (em.To is null || em.To.Count == 0 || em.To.Any(string.IsNullOrWhiteSpace)) Err("$.notify.email.to", "needs at least one address");
            else if (em.To.Any(a => a.Contains('\n') || a.Contains('\r'))) Err("$.notify.email.to", "an address contains a line break");
            else if (em.From is { } f && (f.Contains('\n') || f.Contains('\r'))) Err("$.notify.email.from", "contains a line break");
            else email = new EmailSettings(em.To, em.From ?? "fshealer", em.Sendmail ?? "sendmail");
        }

        var hooksList = new List<WebhookSettings>();
        var webhooks = dto.Webhooks ?? [];
        for (int i = 0; i < webhooks.Count; i++)
        {
            var w = webhooks[i];
            string p = $"$.notify.webhooks[{i}]";
            if (w is null) continue;
            Uri? u = null;
            if (w.Url is null || !Uri.TryCreate(w.Url, UriKind.Absolute, out u) || (u.Scheme != "http" && u.Scheme != "https"))
            { Err($"{p}.url", w.Url is null ? "missing: the URL to post to" : $"\"{(u is null ? "(unparseable, redacted)" : Redact(u))}\" is not an http(s) URL"); continue; }
            WebhookFormat fmt = WebhookFormat.Json;
            if (w.Format is { } f && !FormatNames.TryGetValue(f, out fmt))
            { Err($"{p}.format", $"\"{f}\" is not json, ntfy, text or slack"); continue; }
            string? topic = w.Topic;
            var url = u;
            if (fmt == WebhookFormat.Ntfy && topic is null)
            {
                // https://ntfy.sh/mytopic: post the JSON to https://ntfy.sh/ with "topic": "mytopic"
                var path = u.AbsolutePath.TrimEnd('/');
                int slash = path.LastIndexOf('/');
                topic = slash >= 0 && slash < path.Length - 1 ? Uri.UnescapeDataString(path[(slash + 1)..]) : null;
                if (topic is null) { Err($"{p}.topic", "ntfy needs a topic: in the URL (https://ntfy.sh/TOPIC) or as \"topic\""); continue; }
                url = new UriBuilder(u) { Path = path[..(slash + 1)] }.Uri;
            }
            if (fmt != WebhookFormat.Ntfy && (w.Topic is not null || w.Token is not null))
                Err($"{p}.{(w.Topic is not null ? "topic" : "token")}", $"only for \"format\": \"ntfy\" (this webhook's format is {FormatName(fmt)})");
            foreach (var (k, v) in w.Headers ?? [])
                if (k.Length == 0 || k.Any(ch => ch <= ' ' || ch >= 127 || ch == ':') || v.Contains('\n') || v.Contains('\r'))
                    Err($"{p}.headers", $"header \"{k}\" is not a valid HTTP header name/value");
            hooksList.Add(new WebhookSettings(url, fmt, w.Headers ?? [], Seconds(w.TimeoutSeconds, $"{p}.timeout_seconds", TimeSpan.FromSeconds(10), Err))
            { Topic = topic, Token = w.Token });
        }
        if (count > 0) return null;
        return new NotifySettings { Policy = policy, Hooks = hooks, Email = email, Webhooks = hooksList };
    }

    private static readonly Dictionary<string, WebhookFormat> FormatNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["json"] = WebhookFormat.Json, ["text"] = WebhookFormat.Text, ["slack"] = WebhookFormat.Slack, ["ntfy"] = WebhookFormat.Ntfy,
    };

    public static string FormatName(WebhookFormat f) => f.ToString().ToLowerInvariant();

    private static T Fail<T>(Action<string, string> err, string path, string msg, T value) { err(path, msg); return value; }

    private static TimeSpan Seconds(double? v, string path, TimeSpan dflt, Action<string, string> err)
    {
        if (v is null) return dflt;
        if (!(v > 0) || v > 365 * 86400.0) { err(path, $"{v} is not a positive number of seconds (at most a year)"); return dflt; }
        return TimeSpan.FromSeconds(v.Value);
    }

    /// <summary>A URL safe to log: no user info, no query, no fragment (tokens live there).</summary>
    public static string Redact(Uri u)
    {
        var s = $"{u.Scheme}://{u.Host}{(u.IsDefaultPort ? "" : ":" + u.Port)}{FsHealer.Config.SecretRedaction.Path(u.AbsolutePath)}";
        if (!string.IsNullOrEmpty(u.Query) || !string.IsNullOrEmpty(u.UserInfo)) s += " (credentials redacted)";
        return s;
    }

    public static string Redact(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) ? Redact(u) : "(unparseable URL redacted)";
}

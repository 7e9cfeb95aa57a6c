using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;

namespace FsHealer.Service.Notify.Live;

public sealed class WebhookPayload
{
    public string Kind { get; set; } = "";
    public string Severity { get; set; } = "";
    public string Subject { get; set; } = "";
    public string Body { get; set; } = "";
    public string Time { get; set; } = "";
    public string? Host { get; set; }
    public string? Class { get; set; }
    public string? Mount { get; set; }
    public string? FsType { get; set; }
    public string? Device { get; set; }
    public ulong? Inode { get; set; }
    public string? Path { get; set; }
    public int? Errno { get; set; }
    public string? Structure { get; set; }
    public string? CorrelationId { get; set; }
    public List<DigestCount>? Counts { get; set; }
}

public sealed class DigestCount
{
    public string Mount { get; set; } = "";
    public string Class { get; set; } = "";
    public long Count { get; set; }
}

public sealed class SlackPayload { public string Text { get; set; } = ""; }

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WebhookPayload))]
[JsonSerializable(typeof(SlackPayload))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext;

/// <summary>
/// HTTP POST of each message: JSON (application/json), ntfy-style plain text (text/plain body with Title,
/// Priority and Tags headers) or Slack-style <c>{"text": ...}</c>. Names and errors show the URL without user
/// info or query (where tokens live); configured headers (Authorization) are never logged.
/// </summary>
public sealed class WebhookDestination(WebhookSettings settings, string host = "localhost") : INotifyDestination, IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = settings.Timeout };

    public string Name => $"webhook {NotifySettings.Redact(settings.Url)} ({settings.Format.ToString().ToLowerInvariant()})";

    public static readonly IReadOnlyDictionary<FsHealer.Model.Severity, string> NtfyPriority = new Dictionary<FsHealer.Model.Severity, string>
    {
        [FsHealer.Model.Severity.Debug] = "1", [FsHealer.Model.Severity.Info] = "2", [FsHealer.Model.Severity.Notice] = "3",
        [FsHealer.Model.Severity.Warning] = "4", [FsHealer.Model.Severity.Error] = "5", [FsHealer.Model.Severity.Critical] = "5",
    };

    public static WebhookPayload Payload(NotifyMessage m, string host)
    {
        var e = m.Event;
        return new WebhookPayload
        {
            Kind = m.Kind.ToString().ToLowerInvariant(), Severity = m.Severity.ToString().ToLowerInvariant(), Subject = m.Subject,
            Body = m.Body, Time = m.Time.ToString("O"), Host = host,
            Class = e is null ? null : NotificationPolicy.ClassName(e.Class), Mount = e?.Mount ?? m.Mount, FsType = e?.FsType,
            Device = e?.Device, Inode = e?.Inode, Path = e?.Path, Errno = e?.Errno, Structure = e?.Structure, CorrelationId = e?.CorrelationId,
            Counts = m.Counts.Count == 0 ? null : m.Counts.Select(c => new DigestCount { Mount = c.Mount, Class = NotificationPolicy.ClassName(c.Class), Count = c.Count }).ToList(),
        };
    }

    public HttpRequestMessage Build(NotifyMessage m)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, settings.Url);
        switch (settings.Format)
        {
            case WebhookFormat.Json:
                req.Content = new StringContent(JsonSerializer.Serialize(Payload(m, host), WebhookJsonContext.Default.WebhookPayload), Encoding.UTF8, "application/json");
                break;
            case WebhookFormat.Slack:
                req.Content = new StringContent(JsonSerializer.Serialize(new SlackPayload { Text = $"*{m.Subject}*\n{m.Body}" }, WebhookJsonContext.Default.SlackPayload), Encoding.UTF8, "application/json");
                break;
            default:
                req.Content = new StringContent(m.Body, Encoding.UTF8, "text/plain");
                req.Headers.TryAddWithoutValidation("Title", Ascii(m.Subject));
                req.Headers.TryAddWithoutValidation("Priority", NtfyPriority[m.Severity]);
                req.Headers.TryAddWithoutValidation("Tags", $"fshealer,{m.Kind.ToString().ToLowerInvariant()}");
                break;
        }
        foreach (var (k, v) in settings.Headers)
            if (!req.Headers.TryAddWithoutValidation(k, v)) req.Content.Headers.TryAddWithoutValidation(k, v);
        if (!string.IsNullOrEmpty(settings.Url.UserInfo) && !settings.Headers.Keys.Any(k => k.Equals("Authorization", StringComparison.OrdinalIgnoreCase)))
            req.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(settings.Url.UserInfo))));
        return req;
    }

    private static string Ascii(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s) sb.Append(c is >= ' ' and < (char)127 ? c : '?');
        return sb.ToString();
    }

    public DeliveryResult Send(NotifyMessage m)
    {
        try
        {
            using var req = Build(m);
            using var resp = _http.Send(req);
            int code = (int)resp.StatusCode;
            return resp.IsSuccessStatusCode ? DeliveryResult.Success($"HTTP {code}") : DeliveryResult.Failure($"HTTP {code} {resp.ReasonPhrase}");
        }
        catch (Exception ex)
        {
            // Exception texts from HttpClient can contain the request URI: scrub the full URL and its query.
            var msg = ex.InnerException is { } inner ? $"{ex.Message} ({inner.Message})" : ex.Message;
            msg = msg.Replace(settings.Url.OriginalString, NotifySettings.Redact(settings.Url)).Replace(settings.Url.AbsoluteUri, NotifySettings.Redact(settings.Url));
            if (settings.Url.Query.Length > 1) msg = msg.Replace(settings.Url.Query, "?(redacted)");
            return DeliveryResult.Failure(msg);
        }
    }

    public void Dispose() => _http.Dispose();
}

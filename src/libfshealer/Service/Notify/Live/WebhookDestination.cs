using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;
using FsHealer.Text;
using FsHealer.Model;

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

/// <summary>ntfy's JSON publish (https://docs.ntfy.sh/publish/#publish-as-json).</summary>
public sealed class NtfyPayload
{
    public string Topic { get; set; } = "";
    public string Title { get; set; } = "";
    public string Message { get; set; } = "";
    public int Priority { get; set; } = 3;
    public List<string> Tags { get; set; } = [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WebhookPayload))]
[JsonSerializable(typeof(SlackPayload))]
[JsonSerializable(typeof(NtfyPayload))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext;

/// <summary>
/// HTTP POST of each message: JSON (application/json), ntfy's JSON publish (topic, title, message, priority, tags;
/// an access token as a Bearer header), plain text (text/plain body with Title, Priority and Tags headers) or
/// Slack-style <c>{"text": ...}</c>. Names and errors show the URL without user info, query or token-like path
/// segments; configured headers (Authorization) and tokens are never logged. Requests go through the proxy the
/// environment names (https_proxy, http_proxy, no_proxy: <see cref="ProxyRules"/>).
/// </summary>
public sealed class WebhookDestination(WebhookSettings settings, string host = "localhost", Func<string, string?>? environment = null) : INotifyDestination, IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        UseProxy = true, Proxy = new EnvironmentProxy(environment ?? System.Environment.GetEnvironmentVariable), AllowAutoRedirect = false,
    }) { Timeout = settings.Timeout };

    public string Name => $"webhook {NotifySettings.Redact(settings.Url)} ({NotifySettings.FormatName(settings.Format)})";

    /// <summary>The proxy this webhook's requests use now (null: direct).</summary>
    public Uri? Proxy => ProxyRules.For(settings.Url, environment ?? System.Environment.GetEnvironmentVariable);

    /// <summary>ntfy tags by severity (ntfy shows these as emoji) and kind.</summary>
    private static string NtfyTag(NotifyMessage m) => m.Kind switch
    {
        NotifyKind.Resolved => "white_check_mark",
        NotifyKind.Heartbeat => "heartbeat",
        NotifyKind.Test => "test_tube",
        _ => m.Severity switch
        {
            FsHealer.Model.Severity.Critical => "rotating_light",
            FsHealer.Model.Severity.Error => "x",
            FsHealer.Model.Severity.Warning => "warning",
            _ => "information_source",
        },
    };

    public static NtfyPayload Ntfy(NotifyMessage m, string topic)
    {
        const int maxMessage = 3900; // ntfy turns messages over 4096 bytes into attachments
        var body = m.Body.Length > maxMessage ? m.Body[..maxMessage] + "\n... (shortened)" : m.Body;
        var tags = new List<string> { NtfyTag(m), "fshealer" };
        if (m.Event is { } e) tags.Add(NotificationPolicy.ClassName(e.Class));
        else tags.Add(m.Kind.ToString().ToLowerInvariant());
        return new NtfyPayload
        {
            Topic = topic, Title = MailFormat.Shorten(MailFormat.OneLine(m.Subject), 250), Message = body,
            Priority = int.Parse(NtfyPriority[m.Severity], System.Globalization.CultureInfo.InvariantCulture), Tags = tags,
        };
    }

    public static readonly IReadOnlyDictionary<Severity, string> NtfyPriority = new Dictionary<Severity, string>
    {
        [Severity.Debug] = "1", [Severity.Info] = "2", [Severity.Notice] = "3",
        [Severity.Warning] = "4", [Severity.Error] = "5", [Severity.Critical] = "5",
    };

    /// <summary>Names in the payload are shown with <see cref="PathBytes.Show"/> (valid Unicode that every JSON
    /// consumer accepts, and <c>x\xff</c> distinct from <c>x\uFFFD</c>), like the subject and body.</summary>
    private static string? Shown(string? s) => s is null ? null : PathBytes.Show(s);

    public static WebhookPayload Payload(NotifyMessage m, string host)
    {
        var e = m.Event;
        return new WebhookPayload
        {
            Kind = m.Kind.ToString().ToLowerInvariant(), Severity = FsHealer.Model.ClassNames.Of(m.Severity), Subject = m.Subject,
            Body = m.Body, Time = FsHealer.Text.TimeFormat.UtcMillis(m.Time), Host = host,
            Class = e is null ? null : NotificationPolicy.ClassName(e.Class), Mount = Shown(e?.Mount ?? m.Mount), FsType = Shown(e?.FsType),
            Device = Shown(FsHealer.Text.DeviceName.AsPath(e?.Device)), Inode = e?.Inode, Path = Shown(e?.Path), Errno = e?.Errno, Structure = Shown(e?.Structure), CorrelationId = e?.CorrelationId,
            Counts = m.Counts.Count == 0 ? null : m.Counts.Select(c => new DigestCount { Mount = PathBytes.Show(c.Mount), Class = NotificationPolicy.ClassName(c.Class), Count = c.Count }).ToList(),
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
            case WebhookFormat.Ntfy:
                req.Content = new StringContent(JsonSerializer.Serialize(Ntfy(m, settings.Topic ?? "fshealer"), WebhookJsonContext.Default.NtfyPayload), Encoding.UTF8, "application/json");
                if (settings.Token is { Length: > 0 } token && !settings.Headers.Keys.Any(k => k.Equals("Authorization", StringComparison.OrdinalIgnoreCase)))
                    req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                break;
            default:
                req.Content = new StringContent(m.Body, Encoding.UTF8, "text/plain");
                req.Headers.TryAddWithoutValidation("Title", Ascii(MailFormat.Shorten(MailFormat.OneLine(m.Subject), 250)));
                req.Headers.TryAddWithoutValidation("Priority", NtfyPriority[m.Severity]);
                req.Headers.TryAddWithoutValidation("Tags", $"fshealer,{m.Kind.ToString().ToLowerInvariant()}");
                break;
        }
        foreach (var (k, v) in settings.Headers)
            if (!req.Headers.TryAddWithoutValidation(k, v)) req.Content.Headers.TryAddWithoutValidation(k, v);
        if (!string.IsNullOrEmpty(settings.Url.UserInfo) && req.Headers.Authorization is null && !settings.Headers.Keys.Any(k => k.Equals("Authorization", StringComparison.OrdinalIgnoreCase)))
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
            if (settings.Token is { Length: > 0 } tk) msg = msg.Replace(tk, "***");
            return DeliveryResult.Failure(msg);
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The environment's proxy (<see cref="ProxyRules"/>) as an <see cref="IWebProxy"/>; credentials from the
/// proxy URL's user info.</summary>
public sealed class EnvironmentProxy(Func<string, string?> environment) : System.Net.IWebProxy
{
    public System.Net.ICredentials? Credentials { get; set; }

    public Uri? GetProxy(Uri destination)
    {
        var p = ProxyRules.For(destination, environment);
        if (p is not null && !string.IsNullOrEmpty(p.UserInfo) && Credentials is null)
        {
            var ui = p.UserInfo.Split(':', 2);
            Credentials = new System.Net.NetworkCredential(Uri.UnescapeDataString(ui[0]), ui.Length > 1 ? Uri.UnescapeDataString(ui[1]) : "");
        }
        return p;
    }

    public bool IsBypassed(Uri host) => ProxyRules.For(host, environment) is null;
}

using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FsHealer.Config;

/// <summary>
/// Secrets out of what fshealer prints (<c>config show</c>): every value of a key that names a secret (token,
/// password, secret, api key, authorization), every webhook header except a few harmless ones, and in URLs the user
/// information, every query value and path segments that look like tokens (Slack's and Discord's webhook URLs carry
/// the secret in the path) become <c>***</c>.
/// </summary>
public static class SecretRedaction
{
    public const string Mask = "***";

    private static readonly string[] SecretWords = ["token", "password", "passwd", "secret", "api_key", "apikey", "authorization", "auth", "credential", "private_key"];

    /// <summary>Header names whose values are never secret.</summary>
    private static readonly HashSet<string> HarmlessHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Content-Type", "Accept", "User-Agent", "Title", "X-Title", "Priority", "X-Priority", "Tags", "X-Tags", "Markdown", "X-Markdown",
    };

    public static bool IsSecretKey(string key)
    {
        var k = key.ToLowerInvariant().Replace('-', '_');
        foreach (var w in SecretWords) if (k == w || k.EndsWith("_" + w, StringComparison.Ordinal) || k.StartsWith(w + "_", StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>A redacted copy of a JSON document (indented).</summary>
    public static string Json(string json)
    {
        var node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (node is null) return json;
        Walk(node, null, false);
        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    private static void Walk(JsonNode node, string? key, bool inHeaders)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var name in o.Select(kv => kv.Key).ToList())
                {
                    var v = o[name];
                    if (v is null) continue;
                    if (v is JsonValue && (IsSecretKey(name) || (inHeaders && !HarmlessHeaders.Contains(name)))) { o[name] = Mask; continue; }
                    if (Redacted(v) is { } r) { o[name] = r; continue; }
                    Walk(v, name, name.Equals("headers", StringComparison.OrdinalIgnoreCase));
                }
                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++)
                {
                    if (a[i] is not { } item) continue;
                    if (Redacted(item) is { } r) a[i] = r;
                    else Walk(item, key, false);
                }
                break;
        }
    }

    // a string holding a URL with secrets: its masked copy (null: nothing to mask)
    private static string? Redacted(JsonNode v)
    {
        if (v is not JsonValue jv || jv.GetValueKind() != JsonValueKind.String) return null;
        var s = jv.GetValue<string>();
        if (!LooksLikeUrl(s)) return null;
        var r = Url(s);
        return r == s ? null : r;
    }

    private static bool LooksLikeUrl(string s) => s.Contains("://", StringComparison.Ordinal);

    /// <summary>A URL with its secrets masked: <c>https://***@host/path/***?auth=***</c>.</summary>
    public static string Url(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || string.IsNullOrEmpty(u.Host))
            return url.Contains('@') || url.Contains('?') ? Mask : url;
        var sb = new StringBuilder();
        sb.Append(u.Scheme).Append("://");
        if (!string.IsNullOrEmpty(u.UserInfo)) sb.Append(Mask).Append('@');
        sb.Append(u.IsDefaultPort ? u.Host : $"{u.Host}:{u.Port}");
        sb.Append(Path(u.AbsolutePath));
        if (u.Query.Length > 1)
        {
            sb.Append('?');
            var parts = u.Query[1..].Split('&');
            for (int i = 0; i < parts.Length; i++)
            {
                if (i > 0) sb.Append('&');
                int eq = parts[i].IndexOf('=');
                sb.Append(eq < 0 ? Mask : parts[i][..(eq + 1)] + Mask);
            }
        }
        if (u.Fragment.Length > 1) sb.Append('#').Append(Mask);
        return sb.ToString();
    }

    /// <summary>The path with token-like segments masked.</summary>
    public static string Path(string absolutePath)
    {
        var segs = absolutePath.Split('/');
        for (int i = 0; i < segs.Length; i++) if (LooksLikeToken(segs[i])) segs[i] = Mask;
        return string.Join('/', segs);
    }

    /// <summary>Long random-looking strings: 24+ characters, or 16+ with both letters and digits.</summary>
    public static bool LooksLikeToken(string seg)
    {
        if (seg.Length >= 24) return true;
        if (seg.Length < 16) return false;
        bool letter = false, digit = false;
        foreach (var c in seg) { letter |= char.IsAsciiLetter(c); digit |= char.IsAsciiDigit(c); }
        return letter && digit;
    }
}

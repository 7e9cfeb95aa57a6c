namespace FsHealer.Service.Notify;

/// <summary>
/// Which proxy a webhook request goes through, from the usual environment variables (as curl reads them):
/// <c>https_proxy</c>/<c>HTTPS_PROXY</c> for https URLs, <c>http_proxy</c>/<c>HTTP_PROXY</c> for http URLs, then
/// <c>all_proxy</c>/<c>ALL_PROXY</c>; <c>no_proxy</c>/<c>NO_PROXY</c> lists hosts (and their subdomains; <c>*</c> =
/// all; an optional <c>:port</c>) that are reached directly. Loopback addresses are always reached directly (a local
/// relay). A proxy given without a scheme is http://. Pure: the environment comes in as a function.
/// </summary>
public static class ProxyRules
{
    /// <summary>The proxy for <paramref name="target"/>, or null for a direct connection.</summary>
    public static Uri? For(Uri target, Func<string, string?> env)
    {
        if (IsLoopback(target.Host) || Bypassed(target, env("no_proxy") ?? env("NO_PROXY"))) return null;
        string? p = target.Scheme == "https"
            ? env("https_proxy") ?? env("HTTPS_PROXY")
            : env("http_proxy") ?? env("HTTP_PROXY");
        p ??= env("all_proxy") ?? env("ALL_PROXY");
        if (string.IsNullOrWhiteSpace(p)) return null;
        p = p.Trim();
        if (!p.Contains("://", StringComparison.Ordinal)) p = "http://" + p;
        return Uri.TryCreate(p, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" ? u : null;
    }

    /// <summary>Does the no_proxy list name this host (or a parent domain, or "*")?</summary>
    public static bool Bypassed(Uri target, string? noProxy)
    {
        if (string.IsNullOrWhiteSpace(noProxy)) return false;
        string host = target.IdnHost.Trim('[', ']').ToLowerInvariant();
        foreach (var raw in noProxy.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries))
        {
            var entry = raw.Trim().ToLowerInvariant();
            if (entry == "*") return true;
            int? port = null;
            int colon = entry.LastIndexOf(':');
            if (colon > 0 && !entry.Contains(']') && entry.IndexOf(':') == colon && int.TryParse(entry[(colon + 1)..], out var pn)) { port = pn; entry = entry[..colon]; }
            else if (entry.StartsWith('[') && entry.Contains("]:", StringComparison.Ordinal) && int.TryParse(entry[(entry.IndexOf("]:", StringComparison.Ordinal) + 2)..], out var pb))
            { port = pb; entry = entry[..(entry.IndexOf(']') + 1)]; }
            entry = entry.Trim('[', ']').TrimStart('*').TrimStart('.');
            if (entry.Length == 0) continue;
            if (port is { } p && p != target.Port) continue;
            if (host == entry || host.EndsWith("." + entry, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    private static bool IsLoopback(string host)
    {
        var h = host.Trim('[', ']').ToLowerInvariant();
        return h is "localhost" or "::1" || h.EndsWith(".localhost", StringComparison.Ordinal) || h.StartsWith("127.", StringComparison.Ordinal);
    }
}

using System.Text;

namespace FsHealer.Text;

/// <summary>
/// systemd's unit-name path escaping, byte-identical to <c>systemd-escape --path</c> and
/// <c>systemd-escape --template T --path P</c>: the path is simplified (duplicate and trailing slashes, "."
/// components removed), "/" becomes "-", every byte outside [A-Za-z0-9:_.] — and a leading "." — becomes "\xNN".
/// </summary>
public static class SystemdEscape
{
    /// <summary>
    /// unit_name_path_escape(): path_simplify() (duplicate slashes, "." components and a trailing slash dropped; a
    /// relative path of only "." stays "."), "" and "/" become "-", anything still not normalized (a ".." component, a
    /// lone ".") is an error.
    /// </summary>
    public static bool TryEscapePath(string path, out string escaped, out string? error)
    {
        escaped = "";
        error = null;
        if (path.Contains('\0')) { error = "path contains NUL"; return false; }
        string simple = Simplify(path);
        if (simple.Length == 0 || simple == "/") { escaped = "-"; return true; }
        if (!IsNormalized(simple)) { error = $"path {path} is not normalized"; return false; }
        escaped = Escape(simple.TrimStart('/'));
        return true;
    }

    /// <summary>
    /// <c>systemd-escape --path</c> as a program (xfs_healer runs it for --svcname and lets its stderr through): the
    /// escaped name, or null with the tool's error line; a warning line for input it escapes but would not unescape
    /// to the same path (systemd 252's texts, typo included).
    /// </summary>
    public static string? EscapePathAsTool(string path, out string? warning, out string? error)
    {
        warning = null;
        error = null;
        if (!TryEscapePath(path, out var escaped, out _))
        {
            error = !IsValidPath(path) ? $"Input '{path}' is not a valid file system path, failed to escape."
                : !path.StartsWith('/') ? $"Input '{path}' is not an absolute file system path, failed to escape."
                : !IsNormalized(path) ? $"Input '{path}' is not a normalized file system path, failed to escape."
                : "Failed to escape string: Invalid argument";
            return null;
        }
        if (!IsValidPath(path)) warning = $"Input '{path}' is not a valid file system path, escaping is likely not going be reversible.";
        else if (!path.StartsWith('/')) warning = $"Input '{path}' is not an absolute file system path, escaping is likely not going to be reversible.";
        return escaped;
    }

    private static string Simplify(string p)
    {
        if (p.Length == 0) return "";
        var kept = p.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(c => c != ".");
        string joined = string.Join('/', kept);
        if (p[0] == '/') return "/" + joined;
        return joined.Length == 0 ? "." : joined;
    }

    /// <summary>path_is_valid(): not empty, shorter than PATH_MAX, no component longer than NAME_MAX (bytes).</summary>
    private static bool IsValidPath(string p) =>
        p.Length > 0 && Encoding.UTF8.GetByteCount(p) < 4096 && p.Split('/').All(c => Encoding.UTF8.GetByteCount(c) <= 255);

    /// <summary>path_is_normalized(): valid, no "." or ".." component, no "//".</summary>
    private static bool IsNormalized(string p) =>
        IsValidPath(p) && !p.Split('/').Any(c => c is "." or "..") && !p.Contains("//", StringComparison.Ordinal);

    public static string EscapePath(string path) =>
        TryEscapePath(path, out var e, out var err) ? e : throw new ArgumentException(err, nameof(path));

    /// <summary>"xfs_healer@.service" + "/mnt/a" → "xfs_healer@mnt-a.service".</summary>
    public static string InstanceName(string template, string path)
    {
        int at = template.IndexOf('@');
        if (at < 0 || !template.EndsWith(".service", StringComparison.Ordinal) && template.IndexOf('.', at) < 0)
            throw new ArgumentException($"not a template unit name: {template}", nameof(template));
        int dot = template.IndexOf('.', at);
        return template[..(at + 1)] + EscapePath(path) + template[dot..];
    }

    /// <summary>unit_name_escape() over the bytes of s (<see cref="PathBytes.Encode"/>: a name that is not UTF-8 is
    /// escaped byte by byte, as systemd-escape does with the raw name).</summary>
    public static string Escape(string s)
    {
        var bytes = PathBytes.Encode(s);
        var sb = new StringBuilder(bytes.Length * 2);
        for (int i = 0; i < bytes.Length; i++)
        {
            byte c = bytes[i];
            if (c == (byte)'/') sb.Append('-');
            else if ((i == 0 && c == (byte)'.') || !IsValid(c)) sb.Append("\\x").Append(c.ToString("x2"));
            else sb.Append((char)c);
        }
        return sb.ToString();
    }

    private static bool IsValid(byte c) =>
        c is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
            or (byte)':' or (byte)'_' or (byte)'.';
}

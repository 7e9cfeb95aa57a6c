using System.Text;

namespace FsHealer.Text;

/// <summary>
/// systemd's unit-name path escaping, byte-identical to <c>systemd-escape --path</c> and
/// <c>systemd-escape --template T --path P</c>: the path is simplified (duplicate and trailing slashes, "."
/// components removed), "/" becomes "-", every byte outside [A-Za-z0-9:_.] — and a leading "." — becomes "\xNN".
/// </summary>
public static class SystemdEscape
{
    public static bool TryEscapePath(string path, out string escaped, out string? error)
    {
        escaped = "";
        error = null;
        if (string.IsNullOrEmpty(path)) { error = "empty path"; return false; }
        if (path.Contains('\0')) { error = "path contains NUL"; return false; }
        // path_simplify(): drop empty and "." components; keep ".." (then not normalized → error).
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var kept = new List<string>(parts.Length);
        foreach (var p in parts)
        {
            if (p == ".") continue;
            if (p == "..") { error = $"path {path} is not normalized"; return false; }
            kept.Add(p);
        }
        if (kept.Count == 0) { escaped = "-"; return true; }   // root, or "." / "./" (simplifies to nothing)
        escaped = Escape(string.Join('/', kept));
        return true;
    }

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

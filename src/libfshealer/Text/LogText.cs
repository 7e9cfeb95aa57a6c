using System.Text;

namespace FsHealer.Text;

/// <summary>Text from outside (a client's request, an exception message) made safe for one log line.</summary>
public static class LogText
{
    /// <summary>One line, at most <paramref name="max"/> characters: backslash, line breaks and every other control
    /// character escaped (\n, \r, \t, \xNN, \u2028 ...), so a client cannot forge or split log lines or send
    /// terminal escapes; longer text ends in "...".</summary>
    public static string OneLine(string? s, int max = 200)
    {
        if (string.IsNullOrEmpty(s)) return "";
        var sb = new StringBuilder(Math.Min(s.Length, max) + 8);
        foreach (var c in s)
        {
            if (sb.Length >= max) { sb.Append("..."); break; }
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (char.IsControl(c) || c is '\u2028' or '\u2029' or '\u0085') sb.Append(c <= 0xff ? $"\\x{(int)c:x2}" : $"\\u{(int)c:x4}");
                    else sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }
}

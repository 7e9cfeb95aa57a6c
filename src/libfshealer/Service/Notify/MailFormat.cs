using System.Text;

namespace FsHealer.Service.Notify;

/// <summary>
/// Mail headers and bodies that every MTA accepts (RFC 5322, RFC 2047): a subject is one line of text, shortened in
/// the middle to <see cref="MaxSubjectChars"/> (a 4,000-character mount path must not make a 4 KB header), folded
/// at spaces below 78 characters per line, and encoded as UTF-8 encoded-words (<c>=?UTF-8?B?…?=</c>, at most 75
/// characters each) when it is not plain ASCII. No header or body line is longer than 998 bytes.
/// </summary>
public static class MailFormat
{
    public const int MaxSubjectChars = 200;
    public const int MaxLineBytes = 998;
    private const int FoldAt = 78;

    /// <summary>The "Subject: …" header, folded (lines separated by "\n "), without the final newline.</summary>
    public static string SubjectHeader(string subject) => Header("Subject", subject, MaxSubjectChars);

    /// <summary>Any unstructured header ("Name: value"), sanitized, shortened, encoded and folded.</summary>
    public static string Header(string name, string value, int maxChars = MaxSubjectChars)
    {
        var text = Shorten(OneLine(value), maxChars);
        if (IsPlainAscii(text)) return Fold(name + ": ", text);
        return name + ": " + string.Join("\n ", EncodedWords(text, firstLineUsed: name.Length + 2));
    }

    /// <summary>Control characters and line breaks become spaces; runs of spaces one space.</summary>
    public static string OneLine(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            char d = c < ' ' || c == '\u007f' || c == '\u2028' || c == '\u2029' ? ' ' : c;
            if (d == ' ' && sb.Length > 0 && sb[^1] == ' ') continue;
            sb.Append(d);
        }
        return sb.ToString().Trim();
    }

    /// <summary>At most <paramref name="max"/> characters: the start and the end survive, the middle becomes "...".</summary>
    public static string Shorten(string s, int max)
    {
        if (s.Length <= max) return s;
        int head = (max - 3) * 2 / 3, tail = max - 3 - head;
        // never cut a surrogate pair
        if (head > 0 && char.IsHighSurrogate(s[head - 1])) head--;
        if (tail > 0 && char.IsLowSurrogate(s[^tail])) tail--;
        return s[..head] + "..." + s[^tail..];
    }

    private static bool IsPlainAscii(string s)
    {
        foreach (var c in s) if (c < ' ' || c > '~') return false;
        return true;
    }

    // folds before spaces so that lines stay under 78 characters where a space allows it
    private static string Fold(string prefix, string text)
    {
        var sb = new StringBuilder(prefix);
        int lineLen = prefix.Length;
        var words = text.Split(' ');
        for (int i = 0; i < words.Length; i++)
        {
            var w = words[i];
            if (i > 0)
            {
                if (lineLen + 1 + w.Length > FoldAt && lineLen > 1) { sb.Append("\n "); lineLen = 1; }
                else { sb.Append(' '); lineLen++; }
            }
            sb.Append(w);
            lineLen += w.Length;
        }
        return sb.ToString();
    }

    /// <summary>RFC 2047 "B" encoded-words of at most 75 characters, split between whole characters.</summary>
    public static List<string> EncodedWords(string text, int firstLineUsed = 0)
    {
        const string open = "=?UTF-8?B?", close = "?=";
        var words = new List<string>();
        var chunk = new List<byte>();
        var enc = Encoding.UTF8;
        // RFC 2047: a line with encoded-words is at most 76 characters; a folded line starts with one space
        int limit(int wordIndex) => Math.Max(1, (76 - (wordIndex == 0 ? firstLineUsed : 1) - open.Length - close.Length) / 4) * 3;
        for (int i = 0; i < text.Length; i++)
        {
            int len = char.IsHighSurrogate(text[i]) && i + 1 < text.Length ? 2 : 1;
            var bytes = enc.GetBytes(text.Substring(i, len));
            if (chunk.Count + bytes.Length > limit(words.Count))
            {
                words.Add(open + Convert.ToBase64String(chunk.ToArray()) + close);
                chunk.Clear();
            }
            chunk.AddRange(bytes);
            i += len - 1;
        }
        if (chunk.Count > 0 || words.Count == 0) words.Add(open + Convert.ToBase64String(chunk.ToArray()) + close);
        return words;
    }

    /// <summary>Decodes what <see cref="Header"/> wrote (tests, and `notify test` output): unfolds and decodes encoded-words.</summary>
    public static string Decode(string headerValue)
    {
        var unfolded = headerValue.Replace("\n ", " ").Replace("\r\n ", " ");
        var parts = unfolded.Split(' ');
        var sb = new StringBuilder();
        bool prevEncoded = false;
        foreach (var p in parts)
        {
            bool encoded = p.StartsWith("=?UTF-8?B?", StringComparison.OrdinalIgnoreCase) && p.EndsWith("?=", StringComparison.Ordinal);
            if (sb.Length > 0 && !(encoded && prevEncoded)) sb.Append(' ');
            sb.Append(encoded ? Encoding.UTF8.GetString(Convert.FromBase64String(p[10..^2])) : p);
            prevEncoded = encoded;
        }
        return sb.ToString();
    }

    /// <summary>Body lines longer than <see cref="MaxLineBytes"/> bytes are split (between whole characters).</summary>
    public static IEnumerable<string> BodyLines(string body)
    {
        foreach (var line in body.Split('\n'))
        {
            var l = line.TrimEnd('\r');
            if (Encoding.UTF8.GetByteCount(l) <= MaxLineBytes - 2) { yield return l; continue; }
            var sb = new StringBuilder();
            int bytes = 0;
            for (int i = 0; i < l.Length; i++)
            {
                int len = char.IsHighSurrogate(l[i]) && i + 1 < l.Length ? 2 : 1;
                int b = Encoding.UTF8.GetByteCount(l.AsSpan(i, len));
                if (bytes + b > MaxLineBytes - 2) { yield return sb.ToString(); sb.Clear(); bytes = 0; }
                sb.Append(l, i, len);
                bytes += b;
                i += len - 1;
            }
            if (sb.Length > 0) yield return sb.ToString();
        }
    }
}

namespace FsHealer.Config;

/// <summary>Shell-style globs: <c>*</c> (any run not containing '/'), <c>**</c> (any run), <c>?</c> (one char except
/// '/'), <c>[abc]</c>, <c>[a-z]</c>, <c>[!x]</c>, and <c>\</c> escapes. Whole-string match.</summary>
public static class Glob
{
    /// <summary>Null when <paramref name="pattern"/> is valid, else why not.</summary>
    public static string? Validate(string pattern)
    {
        if (pattern.Length == 0) return "empty pattern";
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\')
            {
                if (i + 1 >= pattern.Length) return "trailing backslash";
                i++;
            }
            else if (c == '[')
            {
                int end = ClassEnd(pattern, i);
                if (end < 0) return $"unterminated '[' at position {i + 1}";
                i = end;
            }
        }
        return null;
    }

    public static bool IsMatch(string pattern, string text) => Validate(pattern) is null && Match(pattern, 0, text, 0);

    // Index of the closing ']' of the class opening at i, or -1.
    private static int ClassEnd(string p, int i)
    {
        int j = i + 1;
        if (j < p.Length && (p[j] == '!' || p[j] == '^')) j++;
        if (j < p.Length && p[j] == ']') j++; // a leading ']' is literal
        for (; j < p.Length; j++)
        {
            if (p[j] == '\\') { j++; continue; }
            if (p[j] == ']') return j;
        }
        return -1;
    }

    private static bool Match(string p, int pi, string t, int ti)
    {
        while (pi < p.Length)
        {
            char c = p[pi];
            if (c == '*')
            {
                bool deep = pi + 1 < p.Length && p[pi + 1] == '*';
                int next = pi + (deep ? 2 : 1);
                while (next < p.Length && p[next] == '*') next++;
                for (int k = ti; k <= t.Length; k++)
                {
                    if (Match(p, next, t, k)) return true;
                    if (k < t.Length && !deep && t[k] == '/') return false;
                }
                return false;
            }
            if (ti >= t.Length) return false;
            if (c == '?')
            {
                if (t[ti] == '/') return false;
                pi++; ti++;
            }
            else if (c == '[')
            {
                int end = ClassEnd(p, pi);
                if (!ClassMatch(p, pi + 1, end, t[ti])) return false;
                pi = end + 1; ti++;
            }
            else
            {
                if (c == '\\') { pi++; c = p[pi]; }
                if (t[ti] != c) return false;
                pi++; ti++;
            }
        }
        return ti == t.Length;
    }

    private static bool ClassMatch(string p, int start, int end, char ch)
    {
        bool negate = p[start] == '!' || p[start] == '^';
        if (negate) start++;
        bool hit = false;
        for (int j = start; j < end; j++)
        {
            char lo = p[j];
            if (lo == '\\') lo = p[++j];
            char hi = lo;
            if (j + 2 < end && p[j + 1] == '-')
            {
                hi = p[j + 2];
                if (hi == '\\') hi = p[++j + 2];
                j += 2;
            }
            if (ch >= lo && ch <= hi) hit = true;
        }
        return hit != negate;
    }
}

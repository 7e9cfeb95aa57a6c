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

    public static bool IsMatch(string pattern, string text) => Validate(pattern) is null && Match(pattern, text, out _);

    /// <summary>
    /// Whole-string match without backtracking: the pattern is a sequence of tokens (a literal, <c>?</c>, a class,
    /// <c>*</c>, <c>**</c>) and the text is read once, left to right, keeping the set of token positions that the
    /// prefix read so far can have reached (a Thompson NFA simulation). Cost: at most (tokens + 1) steps per text
    /// character — O(|pattern| × |text|) whatever the number of stars (the recursive matcher this replaced was
    /// exponential in the number of <c>**</c>). <paramref name="steps"/> counts the state visits (tests bound it).
    /// The pattern must be valid (<see cref="Validate"/>).
    /// </summary>
    public static bool Match(string pattern, string text, out long steps)
    {
        var tokens = Compile(pattern);
        int n = tokens.Count;
        var cur = new bool[n + 1];
        var next = new bool[n + 1];
        steps = 0;
        cur[0] = true;
        Close(tokens, cur, ref steps);
        foreach (char ch in text)
        {
            Array.Clear(next);
            bool any = false;
            for (int i = 0; i < n; i++)
            {
                if (!cur[i]) continue;
                steps++;
                var t = tokens[i];
                switch (t.Kind)
                {
                    case TokenKind.Star: if (ch != '/') { next[i] = true; any = true; } break;          // * stays on '/'-free runs
                    case TokenKind.DeepStar: next[i] = true; any = true; break;                           // ** stays on anything
                    case TokenKind.Any: if (ch != '/') { next[i + 1] = true; any = true; } break;
                    case TokenKind.Class: if (ClassMatch(pattern, t.Start, t.End, ch)) { next[i + 1] = true; any = true; } break;
                    default: if (ch == t.Char) { next[i + 1] = true; any = true; } break;
                }
            }
            if (!any) return false;
            Close(tokens, next, ref steps);
            (cur, next) = (next, cur);
        }
        return cur[n];
    }

    // A star may match nothing: a state before a star also stands after it (in order, so chains of stars close).
    private static void Close(List<Token> tokens, bool[] states, ref long steps)
    {
        for (int i = 0; i < tokens.Count; i++)
        {
            steps++;
            if (states[i] && tokens[i].Kind is TokenKind.Star or TokenKind.DeepStar) states[i + 1] = true;
        }
    }

    private enum TokenKind : byte { Literal, Any, Class, Star, DeepStar }

    private readonly record struct Token(TokenKind Kind, char Char = '\0', int Start = 0, int End = 0);

    private static List<Token> Compile(string p)
    {
        var list = new List<Token>(p.Length);
        for (int i = 0; i < p.Length; i++)
        {
            char c = p[i];
            if (c == '*')
            {
                int j = i;
                while (j + 1 < p.Length && p[j + 1] == '*') j++;
                list.Add(new Token(j > i ? TokenKind.DeepStar : TokenKind.Star)); // two or more stars: across '/'
                i = j;
            }
            else if (c == '?') list.Add(new Token(TokenKind.Any));
            else if (c == '[')
            {
                int end = ClassEnd(p, i);
                list.Add(new Token(TokenKind.Class, Start: i + 1, End: end));
                i = end;
            }
            else
            {
                if (c == '\\') c = p[++i];
                list.Add(new Token(TokenKind.Literal, c));
            }
        }
        return list;
    }

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

using FsCheck;
using FsCheck.Fluent;
using FsHealer.Config;

namespace FsHealer.Core.Tests.Config;

/// <summary>Issue 16: <c>**</c> matching is polynomial (it was exponential: 8 <c>**</c> took 2.7 s, 12 over 60 s).
/// The bound is proved by counting the matcher's steps (not by wall time), and the new matcher agrees with the old
/// backtracking one (kept below, verbatim, as the reference) on random patterns and texts.</summary>
public class GlobTests
{
    [Fact]
    public void Thirty_double_stars_on_a_long_path_take_polynomially_many_steps()
    {
        var pattern = string.Concat(Enumerable.Repeat("/**", 30)) + "/x";
        var text = string.Concat(Enumerable.Repeat("/abcdefgh", 400)) + "/y";   // 3,602 characters, no match
        Assert.True(Glob.Validate(pattern) is null);
        Assert.False(Glob.Match(pattern, text, out long steps));
        // at most (tokens + 1) visits per character plus the closures: 93 tokens here
        long bound = (long)(pattern.Length + 2) * (text.Length + 1) * 2;
        Assert.True(steps <= bound, $"{steps} steps > {bound}");
        // and the matching path is found just as directly
        Assert.True(Glob.Match(pattern, text[..^2] + "/x", out long steps2));
        Assert.True(steps2 <= bound, $"{steps2} steps > {bound}");
    }

    [Fact]
    public void Steps_grow_linearly_with_the_text()
    {
        var pattern = string.Concat(Enumerable.Repeat("**a", 12)) + "b";
        Glob.Match(pattern, new string('a', 1000), out long s1);
        Glob.Match(pattern, new string('a', 2000), out long s2);
        Assert.InRange(s2 / (double)s1, 1.8, 2.2);
    }

    private static readonly string[] PatternAtoms = ["a", "b", "/", "*", "**", "***", "?", "[ab]", "[!a]", "[a-b]", "\\*", "\\a", "[]a]", "[/]", "[^b]"];
    private const string TextAtoms = "ab/*]";

    /// <summary>(pattern, text) from a seed: up to 8 atoms (at most 4 of them stars, so the old matcher stays fast),
    /// texts of up to 10 characters over the characters the atoms speak about.</summary>
    private static (string Pattern, string Text) Case(int seed)
    {
        var rnd = new System.Random(seed);
        var atoms = new List<string>();
        int n = rnd.Next(1, 9), stars = 0;
        while (atoms.Count < n)
        {
            var a = PatternAtoms[rnd.Next(PatternAtoms.Length)];
            if (a.StartsWith('*') && ++stars > 4) continue;
            atoms.Add(a);
        }
        var text = new string(Enumerable.Range(0, rnd.Next(0, 11)).Select(_ => TextAtoms[rnd.Next(TextAtoms.Length)]).ToArray());
        return (string.Concat(atoms), text);
    }

    [Fact]
    public void Agrees_with_the_old_backtracking_matcher_on_random_patterns()
    {
        var property = Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var (p, t) = Case(seed);
            return (Glob.IsMatch(p, t) == OldGlob.IsMatch(p, t)).Label($"pattern {p} text {t}");
        });
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(20_000), property);
    }

    [Fact]
    public void Agrees_with_the_old_matcher_on_texts_built_to_match()
    {
        // texts derived from the pattern (each wildcard replaced by something it can match) hit the "true" side often
        var rnd = new System.Random(16);
        string[] atoms = ["a", "b", "/", "*", "**", "?", "[ab]", "[!a]", "\\*"];
        int matches = 0;
        for (int i = 0; i < 20_000; i++)
        {
            var parts = Enumerable.Range(0, rnd.Next(1, 7)).Select(_ => atoms[rnd.Next(atoms.Length)]).ToList();
            var p = string.Concat(parts);
            var t = string.Concat(parts.Select(a => a switch
            {
                "*" => new string('a', rnd.Next(0, 3)),
                "**" => rnd.Next(2) == 0 ? "a/b" : "",
                "?" => "b",
                "[ab]" => "a",
                "[!a]" => rnd.Next(2) == 0 ? "b" : "/",
                "\\*" => "*",
                _ => a,
            }));
            bool expected = OldGlob.IsMatch(p, t);
            Assert.True(expected == Glob.IsMatch(p, t), $"pattern {p} text {t}: old {expected}");
            if (expected) matches++;
        }
        Assert.True(matches > 5_000, $"only {matches} matching cases");
    }

    /// <summary>The matcher before issue 16 (exponential in the number of stars), kept as the reference semantics.</summary>
    private static class OldGlob
    {
        public static bool IsMatch(string pattern, string text) => Glob.Validate(pattern) is null && Match(pattern, 0, text, 0);

        private static int ClassEnd(string p, int i)
        {
            int j = i + 1;
            if (j < p.Length && (p[j] == '!' || p[j] == '^')) j++;
            if (j < p.Length && p[j] == ']') j++;
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
}

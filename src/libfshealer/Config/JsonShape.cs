using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using FsHealer.Text;

namespace FsHealer.Config;

/// <summary>One problem found in a JSON document: where (JSON path, e.g. <c>$.rules[2].xfs.policy</c>) and what.</summary>
public readonly record struct JsonProblem(string Path, string Message, bool AtKey = false);

/// <summary>
/// Checks a JSON document against the shape of the classes it is deserialized into (the source-generated
/// <see cref="JsonTypeInfo"/> metadata: property names, types, nesting; AOT-safe), collecting every problem instead of
/// stopping at the first: unknown keys (with the closest known key as a suggestion), duplicate keys, wrong types in
/// JSON words ("expected an integer, got a string (\"ten\")"), integers out of range. Returns a cleaned copy without
/// the offending members, which deserializes without exceptions, so that meaning checks can run on the rest and
/// report their errors too. Values of keys with a unit in their name (<c>*_seconds</c>, <c>*_days</c>, <c>*_mb</c>,
/// <c>*_limit</c>) may be written as strings with a unit ("30d", "50M"); the copy holds the number.
/// </summary>
public static class JsonShape
{
    /// <summary>Checks <paramref name="e"/> against <paramref name="type"/>. <paramref name="overrides"/> maps a JSON
    /// path to the shape of an opaque section (a <c>JsonElement</c> property owned by another parser).</summary>
    public static JsonNode? Check(JsonElement e, JsonTypeInfo type, string path, List<JsonProblem> problems,
        IReadOnlyDictionary<string, JsonTypeInfo>? overrides = null) => Walk(e, type, path, null, problems, overrides);

    private enum UnitKind { None, Seconds, Days, Bytes, MiB }

    private static UnitKind UnitOf(string? key) => key switch
    {
        null => UnitKind.None,
        _ when key.EndsWith("_seconds", StringComparison.Ordinal) => UnitKind.Seconds,
        _ when key.EndsWith("_days", StringComparison.Ordinal) => UnitKind.Days,
        _ when key.EndsWith("_mb", StringComparison.Ordinal) => UnitKind.MiB,
        _ when key.EndsWith("_limit", StringComparison.Ordinal) || key.EndsWith("_bytes", StringComparison.Ordinal) => UnitKind.Bytes,
        _ => UnitKind.None,
    };

    private static JsonNode? Walk(JsonElement e, JsonTypeInfo t, string path, string? key, List<JsonProblem> problems,
        IReadOnlyDictionary<string, JsonTypeInfo>? overrides)
    {
        if (overrides is not null && overrides.TryGetValue(path, out var o)) t = o;
        var type = Nullable.GetUnderlyingType(t.Type) ?? t.Type;
        if (type == typeof(JsonElement)) return JsonNode.Parse(e.GetRawText(), documentOptions: Lenient);
        switch (t.Kind)
        {
            case JsonTypeInfoKind.Object:
            {
                if (e.ValueKind != JsonValueKind.Object) return Wrong(e, "an object", path, problems);
                var known = new Dictionary<string, JsonPropertyInfo>(StringComparer.Ordinal);
                foreach (var p in t.Properties) if (!p.IsExtensionData) known[p.Name] = p;
                var result = new JsonObject();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var m in e.EnumerateObject())
                {
                    string child = Child(path, m.Name);
                    if (!seen.Add(m.Name)) { problems.Add(new(child, $"duplicate key \"{m.Name}\" (it is already set above)", true)); result.Remove(m.Name); continue; }
                    if (!known.TryGetValue(m.Name, out var prop))
                    {
                        problems.Add(new(child, UnknownKey(m.Name, known.Keys), true));
                        continue;
                    }
                    var pt = t.Options.GetTypeInfo(prop.PropertyType);
                    if (m.Value.ValueKind == JsonValueKind.Null)
                    {
                        if (IsNullable(prop.PropertyType)) result[m.Name] = null;
                        else problems.Add(new(child, $"expected {Expected(pt, m.Name)}, got null"));
                        continue;
                    }
                    var v = Walk(m.Value, pt, child, m.Name, problems, overrides);
                    if (v is not null) result[m.Name] = v;
                }
                return result;
            }
            case JsonTypeInfoKind.Enumerable:
            {
                if (e.ValueKind != JsonValueKind.Array) return Wrong(e, "an array", path, problems);
                var et = t.Options.GetTypeInfo(t.ElementType!);
                var result = new JsonArray();
                int i = 0;
                foreach (var item in e.EnumerateArray())
                {
                    string child = $"{path}[{i++}]";
                    if (item.ValueKind == JsonValueKind.Null) { problems.Add(new(child, $"expected {Expected(et, key)}, got null")); continue; }
                    var v = Walk(item, et, child, key, problems, overrides);
                    // keep the positions of the elements that follow: a bad element becomes null (checked as absent)
                    result.Add(v);
                }
                return result;
            }
            case JsonTypeInfoKind.Dictionary:
            {
                if (e.ValueKind != JsonValueKind.Object) return Wrong(e, "an object", path, problems);
                var et = t.Options.GetTypeInfo(t.ElementType!);
                var result = new JsonObject();
                foreach (var m in e.EnumerateObject())
                {
                    string child = Child(path, m.Name);
                    if (result.ContainsKey(m.Name)) { problems.Add(new(child, $"duplicate key \"{m.Name}\"", true)); continue; }
                    if (m.Value.ValueKind == JsonValueKind.Null) { problems.Add(new(child, $"expected {Expected(et, null)}, got null")); continue; }
                    var v = Walk(m.Value, et, child, null, problems, overrides);
                    if (v is not null) result[m.Name] = v;
                }
                return result;
            }
        }
        return Scalar(e, type, path, key, problems);
    }

    private static readonly JsonDocumentOptions Lenient = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private static bool IsNullable(Type t) => !t.IsValueType || Nullable.GetUnderlyingType(t) is not null;

    private static JsonNode? Scalar(JsonElement e, Type type, string path, string? key, List<JsonProblem> problems)
    {
        if (type == typeof(string))
            return e.ValueKind == JsonValueKind.String ? JsonValue.Create(e.GetString()) : Wrong(e, "a string", path, problems);
        if (type == typeof(bool))
            return e.ValueKind is JsonValueKind.True or JsonValueKind.False ? JsonValue.Create(e.GetBoolean()) : Wrong(e, "true or false", path, problems);
        bool integer = type == typeof(long) || type == typeof(int) || type == typeof(short) || type == typeof(uint) || type == typeof(ulong);
        bool number = integer || type == typeof(double) || type == typeof(float) || type == typeof(decimal);
        if (!number) return JsonNode.Parse(e.GetRawText(), documentOptions: Lenient);
        var unit = UnitOf(key);
        double value;
        if (e.ValueKind == JsonValueKind.Number)
        {
            if (!e.TryGetDouble(out value) || !double.IsFinite(value)) { problems.Add(new(path, $"{Trunc(e.GetRawText())} is out of range")); return null; }
        }
        else if (e.ValueKind == JsonValueKind.String && unit != UnitKind.None)
        {
            // "30d", "50M": the number in the key's unit
            if (!FromUnits(e.GetString()!, unit, out value, out var uerr))
            {
                // the parser's own words only when they add something ("unknown unit", "too long")
                bool detail = uerr is not null && (uerr.Contains("unit", StringComparison.Ordinal) || uerr.Contains("too", StringComparison.Ordinal));
                problems.Add(new(path, $"expected {ExpectedScalar(type, key)}, got {Describe(e)}{(detail ? ": " + uerr : "")}"));
                return null;
            }
        }
        else return Wrong(e, ExpectedScalar(type, key), path, problems);

        if (integer)
        {
            if (e.ValueKind == JsonValueKind.Number && value != Math.Floor(value))
            {
                problems.Add(new(path, $"expected {ExpectedScalar(type, key)}, got {Describe(e)} (not a whole number)"));
                return null;
            }
            // exact bounds for literal integers; the rest (1e3, "30d") through the double
            long lo = type == typeof(int) ? int.MinValue : type == typeof(short) ? short.MinValue : type == typeof(uint) || type == typeof(ulong) ? 0 : long.MinValue;
            long hi = type == typeof(int) ? int.MaxValue : type == typeof(short) ? short.MaxValue : type == typeof(uint) ? uint.MaxValue : long.MaxValue;
            long exact = 0;
            bool fits;
            if (e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var literal)) { exact = literal; fits = exact >= lo && exact <= hi; }
            else
            {
                value = Math.Round(value);
                fits = value >= lo && value < 9.2e18;
                if (fits) { exact = (long)value; fits = exact <= hi; }
            }
            if (!fits)
            {
                problems.Add(new(path, $"{(e.ValueKind == JsonValueKind.Number ? Trunc(e.GetRawText()) : Describe(e))} is out of range ({lo} to {hi})"));
                return null;
            }
            return JsonValue.Create(exact);
        }
        return e.ValueKind == JsonValueKind.Number ? JsonNode.Parse(e.GetRawText()) : JsonValue.Create(value);
    }

    private static bool FromUnits(string s, UnitKind unit, out double value, out string? error)
    {
        value = 0;
        switch (unit)
        {
            case UnitKind.Seconds:
            case UnitKind.Days:
                if (!Units.TryParseDuration(s, out var d, out error, unit == UnitKind.Days ? TimeSpan.FromDays(1) : null)) return false;
                value = unit == UnitKind.Days ? d.TotalDays : d.TotalSeconds;
                return true;
            default:
                if (!Units.TryParseSize(s, out var b, out error, unit == UnitKind.MiB ? 1UL << 20 : 1)) return false;
                value = unit == UnitKind.MiB ? b / 1048576.0 : b;
                return true;
        }
    }

    private static JsonNode? Wrong(JsonElement e, string expected, string path, List<JsonProblem> problems)
    {
        problems.Add(new(path, $"expected {expected}, got {Describe(e)}"));
        return null;
    }

    /// <summary>What a JSON value is, in JSON words: a string ("ten"), a number (1.5), true, an object, ...</summary>
    public static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => $"a string ({Quote(e.GetString()!)})",
        JsonValueKind.Number => $"a number ({Trunc(e.GetRawText())})",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => "nothing",
    };

    private static string Quote(string s) => "\"" + Trunc(s).Replace("\"", "\\\"") + "\"";
    private static string Trunc(string s) => s.Length > 40 ? s[..37] + "..." : s;

    /// <summary>The JSON words for what a type expects.</summary>
    private static string Expected(JsonTypeInfo t, string? key) => t.Kind switch
    {
        JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary => "an object",
        JsonTypeInfoKind.Enumerable => "an array",
        _ => ExpectedScalar(Nullable.GetUnderlyingType(t.Type) ?? t.Type, key),
    };

    private static string ExpectedScalar(Type type, string? key)
    {
        if (type == typeof(string)) return "a string";
        if (type == typeof(bool)) return "true or false";
        bool integer = type == typeof(long) || type == typeof(int) || type == typeof(short) || type == typeof(uint) || type == typeof(ulong);
        string n = integer ? "an integer" : "a number";
        return UnitOf(key) switch
        {
            UnitKind.Seconds => $"{n} of seconds or a duration like \"90s\", \"12h\", \"30d\"",
            UnitKind.Days => $"{n} of days or a duration like \"90d\", \"12w\"",
            UnitKind.MiB => $"{n} of MiB or a size like \"64M\", \"1G\"",
            UnitKind.Bytes => $"{n} of bytes or a size like \"50M\", \"1G\"",
            _ when type == typeof(JsonElement) => "a JSON value",
            _ => n,
        };
    }

    /// <summary><c>$.a.b</c>, or <c>$["odd key"]</c> for names that are not plain identifiers.</summary>
    public static string Child(string parent, string name)
    {
        bool plain = name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_');
        foreach (var c in name) if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-')) { plain = false; break; }
        if (plain) return parent + "." + name;
        var sb = new StringBuilder(parent).Append("[\"");
        foreach (var c in name)
        {
            if (c is '"' or '\\') sb.Append('\\').Append(c);
            else if (c < ' ') sb.Append($"\\u{(int)c:x4}");
            else sb.Append(c);
        }
        return sb.Append("\"]").ToString();
    }

    /// <summary>"unknown key "rulez" (did you mean "rules"?)", or the list of keys allowed there.</summary>
    public static string UnknownKey(string name, IEnumerable<string> knownKeys)
    {
        var known = knownKeys.ToList();
        var s = Suggest(name, known);
        return s is not null ? $"unknown key \"{name}\" (did you mean \"{s}\"?)"
            : known.Count == 0 ? $"unknown key \"{name}\" (nothing may be set here)"
            : $"unknown key \"{name}\" (known keys here: {string.Join(", ", known)})";
    }

    /// <summary>The known name closest to <paramref name="name"/>, when close enough to be a typo: the same in
    /// snake_case or another letter case, a prefix or extension of it ("poll_interval" → "poll_interval_seconds"), or
    /// within a small edit distance (transpositions count one).</summary>
    public static string? Suggest(string name, IReadOnlyCollection<string> known)
    {
        if (name.Length == 0 || known.Count == 0) return null;
        string snake = ToSnake(name);
        foreach (var k in known) if (string.Equals(k, snake, StringComparison.OrdinalIgnoreCase)) return k;
        string? best = null;
        int bestScore = int.MaxValue;
        foreach (var k in known)
        {
            int d = Distance(snake, k);
            int limit = Math.Max(1, Math.Min(3, k.Length / 3));
            if (d <= limit && d < bestScore) { best = k; bestScore = d; }
        }
        if (best is not null) return best;
        foreach (var k in known)
        {
            if (snake.Length >= 4 && (k.StartsWith(snake, StringComparison.Ordinal) || snake.StartsWith(k, StringComparison.Ordinal)) && k.Length > 3)
            {
                int d = Math.Abs(k.Length - snake.Length);
                if (d < bestScore) { best = k; bestScore = d; }
            }
        }
        return best;
    }

    private static string ToSnake(string s)
    {
        var sb = new StringBuilder(s.Length + 4);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsAsciiLetterUpper(c)) { if (i > 0 && s[i - 1] != '_') sb.Append('_'); sb.Append(char.ToLowerInvariant(c)); }
            else sb.Append(c == '-' ? '_' : c);
        }
        return sb.ToString();
    }

    /// <summary>Optimal string alignment distance (Levenshtein with adjacent transpositions).</summary>
    public static int Distance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) > 8) return int.MaxValue;
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}

/// <summary>Where each value (and each key) of a JSON text starts, by JSON path, as 1-based line and column
/// (columns count characters, not bytes). Comments and trailing commas are allowed, as in the configuration.</summary>
public sealed class JsonPositions
{
    private readonly Dictionary<string, int> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _keys = new(StringComparer.Ordinal);
    private readonly byte[] _utf8;
    private readonly List<int> _lineStarts = [0];

    private JsonPositions(byte[] utf8)
    {
        _utf8 = utf8;
        for (int i = 0; i < utf8.Length; i++) if (utf8[i] == (byte)'\n') _lineStarts.Add(i + 1);
    }

    /// <summary>Positions of a syntactically valid document (an invalid one yields what was read before the error).</summary>
    public static JsonPositions Build(byte[] utf8)
    {
        var p = new JsonPositions(utf8);
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        // per open container: its path, whether it is an array, the next index, the last key
        var stack = new Stack<(string Path, bool Array, int Index, string? Key)>();
        try
        {
            while (reader.Read())
            {
                int at = (int)reader.TokenStartIndex;
                if (reader.TokenType == JsonTokenType.PropertyName)
                {
                    var top = stack.Pop();
                    string name = reader.GetString()!;
                    stack.Push(top with { Key = name });
                    p._keys.TryAdd(JsonShape.Child(top.Path, name), at);
                    continue;
                }
                if (reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray) { stack.Pop(); continue; }
                string path = "$";
                if (stack.Count > 0)
                {
                    var top = stack.Pop();
                    if (top.Array) { path = $"{top.Path}[{top.Index}]"; top = top with { Index = top.Index + 1 }; }
                    else path = JsonShape.Child(top.Path, top.Key ?? "");
                    stack.Push(top);
                }
                p._values.TryAdd(path, at);
                if (reader.TokenType == JsonTokenType.StartObject) stack.Push((path, false, 0, null));
                else if (reader.TokenType == JsonTokenType.StartArray) stack.Push((path, true, 0, null));
            }
        }
        catch (JsonException) { }
        return p;
    }

    /// <summary>Line and column of the value at <paramref name="path"/> (or of its key), or of the closest enclosing
    /// value that is known.</summary>
    public (long Line, long Column)? Of(string path, bool key = false)
    {
        if (key && _keys.TryGetValue(path, out int k)) return At(k);
        for (string? p = path; p is not null; p = Parent(p))
            if (_values.TryGetValue(p, out int v)) return At(v);
        return null;
    }

    private static string? Parent(string path)
    {
        if (path == "$") return null;
        int i = path.Length - 1;
        if (path[i] == ']')
        {
            // [N] or ["key"]
            int open = path[i - 1] == '"' ? path.LastIndexOf("[\"", StringComparison.Ordinal) : path.LastIndexOf('[');
            return open > 0 ? path[..open] : "$";
        }
        int dot = path.LastIndexOf('.');
        return dot > 0 ? path[..dot] : "$";
    }

    /// <summary>1-based line and column (in characters) of a byte offset.</summary>
    public (long Line, long Column) At(int offset)
    {
        int line = _lineStarts.BinarySearch(offset);
        if (line < 0) line = ~line - 1;
        int start = _lineStarts[line];
        long col = 1;
        for (int i = start; i < offset && i < _utf8.Length; i++) if ((_utf8[i] & 0xC0) != 0x80) col++;
        return (line + 1, col);
    }

    /// <summary>The character column of a byte position within a 1-based line (for System.Text.Json's syntax errors,
    /// which count bytes).</summary>
    public long CharColumn(long line, long bytePositionInLine)
    {
        if (line < 1 || line > _lineStarts.Count) return bytePositionInLine + 1;
        return At((int)Math.Min(_utf8.Length, _lineStarts[(int)line - 1] + bytePositionInLine)).Column;
    }
}

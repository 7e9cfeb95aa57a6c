using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FsHealer.Text;

/// <summary>
/// JSON strings that keep every byte of a name (<see cref="PathBytes"/>). System.Text.Json writes a lone surrogate as
/// "\uFFFD" — so <c>x\xff</c> and <c>x\uFFFD</c> would both become "x\uFFFD" — and refuses to read "\uDCFF" back.
/// This converter writes a lone surrogate as its own escape ("\uDCFF", as Python's json module does for a
/// surrogate-escaped name; <c>os.fsencode(json.loads(...))</c> gives the bytes back) and reads such escapes back into
/// the same string. Strings without lone surrogates are written exactly as System.Text.Json writes them. Register it
/// on a source-generated context: <c>[JsonSourceGenerationOptions(Converters = [typeof(ExactStringJsonConverter)])]</c>.
/// </summary>
public sealed class ExactStringJsonConverter : JsonConverter<string>
{
    public override bool HandleNull => false;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.String) throw new JsonException($"expected a string, found {reader.TokenType}");
        if (!reader.ValueIsEscaped) return reader.GetString();
        var raw = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan.ToArray();
        return Unescape(raw);
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        if (!HasLoneSurrogate(value)) { writer.WriteStringValue(value); return; }
        writer.WriteRawValue(Quote(value), skipInputValidation: true);
    }

    private static bool HasLoneSurrogate(string s)
    {
        int i = s.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (i < 0) return false;
        for (; i < s.Length; i++)
        {
            char c = s[i];
            if (!char.IsSurrogate(c)) continue;
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            return true;
        }
        return false;
    }

    /// <summary>A JSON string literal written as System.Text.Json's default encoder writes one (ASCII only: a quote,
    /// HTML-sensitive characters and everything beyond ASCII as \uXXXX), lone surrogates included.</summary>
    public static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 8);
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7E || c is '"' or '<' or '>' or '&' or '\'' or '+' or '`')
                        sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>The contents of a JSON string literal (without its quotes, as UTF-8) with escapes resolved; \uXXXX
    /// escapes of lone surrogates become those UTF-16 units.</summary>
    public static string Unescape(ReadOnlySpan<byte> raw)
    {
        var sb = new StringBuilder(raw.Length);
        int i = 0;
        while (i < raw.Length)
        {
            int bs = raw[i..].IndexOf((byte)'\\');
            if (bs < 0) { sb.Append(Encoding.UTF8.GetString(raw[i..])); break; }
            if (bs > 0) sb.Append(Encoding.UTF8.GetString(raw.Slice(i, bs)));
            i += bs;
            if (i + 1 >= raw.Length) throw new JsonException("truncated escape in a string");
            byte k = raw[i + 1];
            switch (k)
            {
                case (byte)'"': sb.Append('"'); break;
                case (byte)'\\': sb.Append('\\'); break;
                case (byte)'/': sb.Append('/'); break;
                case (byte)'b': sb.Append('\b'); break;
                case (byte)'f': sb.Append('\f'); break;
                case (byte)'n': sb.Append('\n'); break;
                case (byte)'r': sb.Append('\r'); break;
                case (byte)'t': sb.Append('\t'); break;
                case (byte)'u':
                    if (i + 6 > raw.Length || !int.TryParse(raw.Slice(i + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int u))
                        throw new JsonException("bad \\u escape in a string");
                    sb.Append((char)u);
                    i += 6;
                    continue;
                default: throw new JsonException($"bad escape \\{(char)k} in a string");
            }
            i += 2;
        }
        return sb.ToString();
    }
}

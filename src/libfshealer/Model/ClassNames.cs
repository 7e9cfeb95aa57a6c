using System.Text;

namespace FsHealer.Model;

/// <summary>
/// The one spelling of enum values in user-facing output (JSON, hook variables and hook file names, history): lower
/// case, snake_case where multi-word (<c>metadata_sick</c>, <c>io_error</c>, <c>repair_succeeded</c>). Input accepts
/// that, the C# name (<c>MetadataSick</c>) and the run-together lower case (<c>metadatasick</c>) alike.
/// </summary>
public static class ClassNames
{
    private static readonly Dictionary<EventClass, string> Names = Enum.GetValues<EventClass>().ToDictionary(c => c, c => Snake(c.ToString()));
    private static readonly Dictionary<string, EventClass> ByName = BuildLookup();

    /// <summary>Every event class, in declaration order, by its name.</summary>
    public static IReadOnlyList<string> All { get; } = Enum.GetValues<EventClass>().Select(c => Names[c]).ToList();

    /// <summary>"metadata_sick" for <see cref="EventClass.MetadataSick"/>.</summary>
    public static string Of(EventClass c) => Names.TryGetValue(c, out var n) ? n : Snake(c.ToString());

    /// <summary>"error" for <see cref="Severity.Error"/>.</summary>
    public static string Of(Severity s) => s.ToString().ToLowerInvariant();

    /// <summary>The run-together lower-case spelling of earlier versions ("metadatasick"); hook file names in it keep working.</summary>
    public static string Legacy(EventClass c) => c.ToString().ToLowerInvariant();

    /// <summary>An event class from any accepted spelling, or null.</summary>
    public static EventClass? Parse(string? s) =>
        s is not null && ByName.TryGetValue(s.Trim().Replace("-", "_").ToLowerInvariant(), out var c) ? c : null;

    /// <summary>" (did you mean "io_error"?)" or "".</summary>
    public static string DidYouMean(string s)
    {
        var best = FsHealer.Config.JsonShape.Suggest(s.Replace("-", "_").ToLowerInvariant(), (IReadOnlyCollection<string>)All);
        return best is null ? "" : $" (did you mean \"{best}\"?)";
    }

    /// <summary>"MetadataSick" → "metadata_sick".</summary>
    public static string Snake(string pascal)
    {
        var sb = new StringBuilder(pascal.Length + 4);
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (char.IsAsciiLetterUpper(c))
            {
                if (i > 0) sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static Dictionary<string, EventClass> BuildLookup()
    {
        var d = new Dictionary<string, EventClass>(StringComparer.Ordinal);
        foreach (var c in Enum.GetValues<EventClass>())
        {
            d[Snake(c.ToString())] = c;
            d[c.ToString().ToLowerInvariant()] = c;
        }
        return d;
    }
}

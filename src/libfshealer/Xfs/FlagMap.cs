using System.Text;

namespace FsHealer.Xfs;

/// <summary>One row of a kernel fact table: a bit (or value), its log name, and optionally the scrub type that repairs it.</summary>
public readonly record struct FlagEntry(uint Flag, string Name, uint ScrubType = 0)
{
    public bool Repairable => ScrubType != 0;
}

/// <summary>
/// An ordered bit → name table, formatted exactly like libfrog's mask_to_string(): names of set bits in table
/// order joined by the delimiter, then any unmapped bits as one "0x…" hex number.
/// </summary>
public sealed class FlagMap
{
    private readonly FlagEntry[] _entries;
    public uint KnownBits { get; }

    public FlagMap(params FlagEntry[] entries)
    {
        _entries = entries;
        foreach (var e in entries) KnownBits |= e.Flag;
    }

    public ReadOnlySpan<FlagEntry> Entries => _entries;

    public void AppendMask(StringBuilder sb, uint mask, string delimiter = ", ")
    {
        var tag = "";
        foreach (var e in _entries)
        {
            if ((mask & e.Flag) == 0) continue;
            sb.Append(tag).Append(e.Name);
            tag = delimiter;
        }
        var unknown = mask & ~KnownBits;
        if (unknown != 0) sb.Append(tag).Append("0x").AppendHex(unknown);
    }

    public string FormatMask(uint mask, string delimiter = ", ")
    {
        var sb = new StringBuilder();
        AppendMask(sb, mask, delimiter);
        return sb.ToString();
    }

    /// <summary>Name of the lowest table entry whose bit is set (libfrog lowest_set_mask_string).</summary>
    public string LowestName(uint mask)
    {
        foreach (var e in _entries)
            if ((mask & e.Flag) != 0) return e.Name;
        return "unknown flag";
    }

    /// <summary>Value → name lookup (libfrog value_to_string): "unknown value" when absent.</summary>
    public string ValueName(uint value)
    {
        foreach (var e in _entries)
            if (e.Flag == value) return e.Name;
        return "unknown value";
    }
}

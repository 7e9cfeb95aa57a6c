using System.Text;

namespace FsHealer.Xfs;

/// <summary>Values of the XFS "autofsck" filesystem property (xattr trusted.xfs:autofsck on the root dir).</summary>
public enum AutofsckValue { Unset, None, Check, Optimize, Repair }

/// <summary>What the healer does for a filesystem.</summary>
public enum HealerDecision { Repair, LogOnly, Exit }

public static class Autofsck
{
    /// <summary>Exact-string parse (like fsprop_autofsck_read); anything else, or no value, is Unset.</summary>
    public static AutofsckValue Parse(ReadOnlySpan<byte> raw)
    {
        int nul = raw.IndexOf((byte)0);
        if (nul >= 0) raw = raw[..nul];
        if (raw.SequenceEqual("none"u8)) return AutofsckValue.None;
        if (raw.SequenceEqual("check"u8)) return AutofsckValue.Check;
        if (raw.SequenceEqual("optimize"u8)) return AutofsckValue.Optimize;
        if (raw.SequenceEqual("repair"u8)) return AutofsckValue.Repair;
        return AutofsckValue.Unset;
    }

    public static AutofsckValue Parse(string? raw) =>
        raw is null ? AutofsckValue.Unset : Parse(Encoding.UTF8.GetBytes(raw));

    /// <summary>
    /// xfs_healer's table: none → exit; check/optimize → log only; repair → repair; unset/unknown/unreadable →
    /// log only when the fs has rmapbt or parent pointers, otherwise exit (too old for effective repair).
    /// </summary>
    public static HealerDecision Decide(AutofsckValue v, bool hasRmapBt, bool hasParent) => v switch
    {
        AutofsckValue.None => HealerDecision.Exit,
        AutofsckValue.Check or AutofsckValue.Optimize => HealerDecision.LogOnly,
        AutofsckValue.Repair => HealerDecision.Repair,
        _ => hasRmapBt || hasParent ? HealerDecision.LogOnly : HealerDecision.Exit,
    };

    public static string? DecisionMessage(HealerDecision d) => d switch
    {
        HealerDecision.Exit => "Disabling daemon per autofsck directive.",
        HealerDecision.Repair => "Automatically repairing per autofsck directive.",
        HealerDecision.LogOnly => "Only logging errors per autofsck directive.",
        _ => null,
    };
}

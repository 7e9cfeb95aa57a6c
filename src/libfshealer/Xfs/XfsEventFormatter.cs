using System.Text;
using FsHealer.Text;

namespace FsHealer.Xfs;

/// <summary>
/// Formats health monitor events and repair outcomes byte-for-byte like xfsprogs' libfrog/healthevent.c
/// (the xfs_healer and `xfs_io healthmon` log lines). Returns null where the C code prints nothing
/// (unknown domain, unknown MOUNT-domain type); callers report those separately.
/// </summary>
public static class XfsEventFormatter
{
    public static string? FormatEvent(in HealthMonitorEvent e, string mountpoint, string? path = null)
    {
        var sb = new StringBuilder(96);
        return AppendEvent(sb, e, mountpoint, path) ? sb.ToString() : null;
    }

    public static bool AppendEvent(StringBuilder sb, in HealthMonitorEvent e, string mountpoint, string? path = null)
    {
        switch (e.Domain)
        {
            case HealthDomain.Mount:
                switch (e.Type)
                {
                    case HealthEventType.Lost:
                        sb.Append(mountpoint).Append(": ").Append(e.LostCount).Append(" events lost");
                        return true;
                    case HealthEventType.Running:
                        sb.Append(mountpoint).Append(": monitoring started");
                        return true;
                    case HealthEventType.Unmount:
                        sb.Append(mountpoint).Append(": filesystem unmounted");
                        return true;
                    case HealthEventType.Shutdown:
                        sb.Append(mountpoint).Append(": filesystem shut down due to ");
                        XfsHealthTables.ShutdownReasons.AppendMask(sb, e.ShutdownReasons);
                        return true;
                    default:
                        return false;
                }
            case HealthDomain.Inode:
                AppendInodeWho(sb, mountpoint, path, e.InodeIno, e.InodeGen);
                XfsHealthTables.InodeStructures.AppendMask(sb, e.Mask);
                sb.Append(": ").Append(XfsHealthTables.HealthTypes.ValueName((uint)e.Type));
                return true;
            case HealthDomain.Ag:
            case HealthDomain.RtGroup:
                sb.Append(mountpoint).Append(e.Domain == HealthDomain.Ag ? " agno 0x" : " rgno 0x").AppendHex(e.GroupNumber).Append(' ');
                (e.Domain == HealthDomain.Ag ? XfsHealthTables.AgStructures : XfsHealthTables.RtGroupStructures).AppendMask(sb, e.Mask);
                sb.Append(": ").Append(XfsHealthTables.HealthTypes.ValueName((uint)e.Type));
                return true;
            case HealthDomain.Fs:
                sb.Append(mountpoint).Append(' ');
                XfsHealthTables.FsStructures.AppendMask(sb, e.Mask);
                sb.Append(": ").Append(XfsHealthTables.HealthTypes.ValueName((uint)e.Type));
                return true;
            case HealthDomain.DataDev:
            case HealthDomain.RtDev:
            case HealthDomain.LogDev:
                sb.Append(mountpoint).Append(' ').Append(XfsHealthTables.DeviceDomains.ValueName((uint)e.Domain))
                  .Append(" daddr 0x").AppendHex(e.MediaDaddr)
                  .Append(" bbcount 0x").AppendHex(e.MediaBbCount).Append(": media error");
                return true;
            case HealthDomain.FileRange:
                AppendInodeWho(sb, mountpoint, path, e.FileIno, e.FileGen);
                sb.Append("pos ").Append(e.FilePos).Append(" len ").Append(e.FileLen).Append(": ")
                  .Append(XfsHealthTables.FileIoTypes.ValueName((uint)e.Type));
                if (e.Type != HealthEventType.DataLost && e.FileError != 0)
                    sb.Append(": ").Append(Errno.Message((int)e.FileError));
                else
                    sb.Append(" failed");
                return true;
            default:
                return false;
        }
    }

    /// <summary>The "WHO " prefix of inode and file-range lines: the path if known, else "mnt ino N gen 0xG ".</summary>
    public static void AppendInodeWho(StringBuilder sb, string mountpoint, string? path, ulong ino, uint gen)
    {
        if (!string.IsNullOrEmpty(path))
            sb.Append(path).Append(' ');
        else
            sb.Append(mountpoint).Append(" ino ").Append(ino).Append(" gen 0x").AppendHex(gen).Append(' ');
    }

    public static string OutcomeText(RepairOutcome o) => o switch
    {
        RepairOutcome.Failed => "Repair unsuccessful; offline repair required.",
        RepairOutcome.ProbablyOk => "Seems correct but cross-referencing failed; offline repair recommended.",
        RepairOutcome.Unnecessary => "No modification needed.",
        _ => "Repairs successful.",
    };

    /// <summary>One repair outcome line, naming only the structure that was repaired.</summary>
    public static string? FormatRepair(in HealthMonitorEvent e, uint structFlag, RepairOutcome outcome, string mountpoint, string? path = null)
    {
        var sb = new StringBuilder(96);
        return AppendRepair(sb, e, structFlag, outcome, mountpoint, path) ? sb.ToString() : null;
    }

    /// <summary><see cref="FormatRepair"/> into a builder; false (nothing appended) for domains without repairs.</summary>
    public static bool AppendRepair(StringBuilder sb, in HealthMonitorEvent e, uint structFlag, RepairOutcome outcome, string mountpoint, string? path = null)
    {
        switch (e.Domain)
        {
            case HealthDomain.Inode:
                AppendInodeWho(sb, mountpoint, path, e.InodeIno, e.InodeGen);
                sb.Append(XfsHealthTables.InodeStructures.LowestName(structFlag));
                break;
            case HealthDomain.Ag:
                sb.Append(mountpoint).Append(" agno 0x").AppendHex(e.GroupNumber).Append(' ')
                  .Append(XfsHealthTables.AgStructures.LowestName(structFlag));
                break;
            case HealthDomain.RtGroup:
                sb.Append(mountpoint).Append(" rgno 0x").AppendHex(e.GroupNumber).Append(' ')
                  .Append(XfsHealthTables.RtGroupStructures.LowestName(structFlag));
                break;
            case HealthDomain.Fs:
                sb.Append(mountpoint).Append(' ').Append(XfsHealthTables.FsStructures.LowestName(structFlag));
                break;
            default:
                return false;
        }
        sb.Append(": ").Append(OutcomeText(outcome));
        return true;
    }

    /// <summary>Lower-case hexadecimal without allocating (what ToString("x") prints).</summary>
    public static StringBuilder AppendHex(this StringBuilder sb, ulong value)
    {
        Span<char> digits = stackalloc char[16];
        int i = digits.Length;
        do
        {
            int d = (int)(value & 0xF);
            digits[--i] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
            value >>= 4;
        } while (value != 0);
        return sb.Append(digits[i..]);
    }

    /// <summary>fshealer's own one-line description of an event, used in diagnostics ("domain 0x9 type 0x3").</summary>
    public static string Describe(in HealthMonitorEvent e) =>
        $"domain {Known(XfsHealthTables.DomainNames, (uint)e.Domain)} type {Known(XfsHealthTables.TypeNames, (uint)e.Type)}";

    private static string Known(FlagMap map, uint v)
    {
        var n = map.ValueName(v);
        return n == "unknown value" ? $"0x{v:x} (unknown)" : n;
    }
}

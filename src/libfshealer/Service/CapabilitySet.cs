using System.Globalization;

namespace FsHealer.Service;

/// <summary>Linux capability numbers fshealer cares about (uapi linux/capability.h), as a data table.</summary>
public static class CapabilitySet
{
    public const int CAP_DAC_OVERRIDE = 1, CAP_DAC_READ_SEARCH = 2, CAP_SYS_ADMIN = 21;

    /// <summary>capget(2) header version 3 (_LINUX_CAPABILITY_VERSION_3): two 32-bit data words.</summary>
    public const uint LinuxCapabilityVersion3 = 0x20080522;

    private static readonly (int Bit, string Name)[] Names =
    [
        (0, "cap_chown"), (CAP_DAC_OVERRIDE, "cap_dac_override"), (CAP_DAC_READ_SEARCH, "cap_dac_read_search"),
        (3, "cap_fowner"), (12, "cap_net_admin"), (CAP_SYS_ADMIN, "cap_sys_admin"), (16, "cap_sys_module"),
        (17, "cap_sys_rawio"), (19, "cap_sys_ptrace"),
    ];

    public static string Name(int cap)
    {
        foreach (var (bit, name) in Names) if (bit == cap) return name;
        return $"cap_{cap}";
    }

    public static bool Has(ulong effective, int cap) => cap is >= 0 and < 64 && (effective & (1UL << cap)) != 0;

    /// <summary>Combine the two 32-bit words capget(2) returns (version 3) into one 64-bit set.</summary>
    public static ulong Combine(uint low, uint high) => low | ((ulong)high << 32);

    /// <summary>Parse the CapEff/CapPrm hex value of /proc/PID/status ("000001ffffffffff").</summary>
    public static bool TryParseStatusHex(string? text, out ulong set)
    {
        set = 0;
        return text is not null && ulong.TryParse(text.Trim(), NumberStyles.AllowHexSpecifier,
            CultureInfo.InvariantCulture, out set);
    }

    /// <summary>The refusal message for repairs: names the missing capability and how to grant it.</summary>
    public static string? RepairRefusal(ulong effective, string what)
    {
        if (Has(effective, CAP_SYS_ADMIN)) return null;
        return $"{what}: refusing to run repairs without CAP_SYS_ADMIN (not in this process's effective capability set " +
               $"0x{effective:x}); run as root or grant cap_sys_admin (e.g. AmbientCapabilities=CAP_SYS_ADMIN CAP_DAC_READ_SEARCH " +
               "in the systemd unit), or run without repair (report-only)";
    }
}

using FsHealer.Text;

namespace FsHealer.Ext4;

/// <summary>ext4's own EXT4_ERR_* codes (sysfs *_errcode, superblock s_*_error_errcode): a table, not errnos.</summary>
public static class Ext4ErrorCodes
{
    /// <summary>code → (name, equivalent errno or 0).</summary>
    private static readonly (string Name, int Errno)[] Table =
    [
        ("NONE", 0),
        ("UNKNOWN", 0),
        ("EIO", Errno.EIO),
        ("ENOMEM", Errno.ENOMEM),
        ("EFSBADCRC", Errno.EFSBADCRC),
        ("EFSCORRUPTED", Errno.EFSCORRUPTED),
        ("ENOSPC", Errno.ENOSPC),
        ("ENOKEY", 126),
        ("EROFS", Errno.EROFS),
        ("EFBIG", 27),
        ("EEXIST", Errno.EEXIST),
        ("ERANGE", 34),
        ("EOVERFLOW", Errno.EOVERFLOW),
        ("EBUSY", Errno.EBUSY),
        ("ENOTDIR", Errno.ENOTDIR),
        ("ENOTEMPTY", 39),
        ("ESHUTDOWN", Errno.ESHUTDOWN),
        ("EFAULT", Errno.EFAULT),
    ];

    public static string Name(int code) => code >= 0 && code < Table.Length ? Table[code].Name : $"EXT4_ERR_{code}";

    /// <summary>The errno an EXT4_ERR code stands for (EFSCORRUPTED when unknown, as ext4 itself does).</summary>
    public static int ToErrno(int code) =>
        code > 0 && code < Table.Length && Table[code].Errno != 0 ? Table[code].Errno : Errno.EFSCORRUPTED;
}

/// <summary>e2fsck exit status bits (e2fsck(8)), as data.</summary>
public static class E2fsckExit
{
    public const int NoErrors = 0, Corrected = 1, CorrectedReboot = 2, Uncorrected = 4, OperationalError = 8,
        UsageError = 16, Cancelled = 32, LibraryError = 128;

    private static readonly (int Bit, string Meaning)[] Bits =
    [
        (Corrected, "file system errors corrected"),
        (CorrectedReboot, "file system errors corrected, system should be rebooted"),
        (Uncorrected, "file system errors left uncorrected"),
        (OperationalError, "operational error"),
        (UsageError, "usage or syntax error"),
        (Cancelled, "e2fsck canceled by user request"),
        (LibraryError, "shared library error"),
    ];

    /// <summary>All meanings of an exit status: "no errors" for 0, one text per set bit otherwise.</summary>
    public static IReadOnlyList<string> Meanings(int status)
    {
        if (status == 0) return ["no errors"];
        if (status < 0) return [$"e2fsck did not exit normally (status {status})"];
        var list = new List<string>();
        int known = 0;
        foreach (var (bit, meaning) in Bits)
            if ((status & bit) != 0) { list.Add(meaning); known |= bit; }
        if ((status & ~known) != 0) list.Add($"unknown status bits 0x{status & ~known:x}");
        return list;
    }

    public static string Describe(int status) => $"exit {status} ({string.Join("; ", Meanings(status))})";

    /// <summary>The filesystem is clean after this run (0, 1 or 2 and nothing worse).</summary>
    public static bool IsClean(int status) => status >= 0 && (status & ~(Corrected | CorrectedReboot)) == 0;
}

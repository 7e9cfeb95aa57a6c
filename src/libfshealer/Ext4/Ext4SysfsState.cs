using System.Globalization;
using System.Buffers.Binary;

namespace FsHealer.Ext4;

/// <summary>first_error_* or last_error_* from /sys/fs/ext4/&lt;dev&gt;/.</summary>
public sealed record Ext4ErrorRecord(DateTimeOffset? Time, ulong Inode, ulong Block, uint Line, string Function, int ErrCode)
{
    public string ErrCodeName => Ext4ErrorCodes.Name(ErrCode);
    public override string ToString() =>
        $"{Function}:{Line} {ErrCodeName}{(Inode != 0 ? $" inode {Inode}" : "")}{(Block != 0 ? $" block {Block}" : "")}" +
        (Time is { } t ? $" at {t:yyyy-MM-dd HH:mm:ss}Z" : "");
}

/// <summary>
/// The error state ext4 exposes in sysfs. Parsed from attribute name → file content; missing or garbled attributes
/// become diagnostics, never exceptions.
/// </summary>
public sealed record Ext4SysfsState
{
    public static readonly string[] AttributeNames =
    [
        "errors_count", "msg_count", "warning_count",
        "first_error_time", "first_error_ino", "first_error_block", "first_error_line", "first_error_func", "first_error_errcode",
        "last_error_time", "last_error_ino", "last_error_block", "last_error_line", "last_error_func", "last_error_errcode",
    ];

    public string Device { get; init; } = "";
    /// <summary>errors_count (persistent: counts every error since the last e2fsck), null if unreadable.</summary>
    public ulong? ErrorsCount { get; init; }
    public ulong? MsgCount { get; init; }
    public ulong? WarningCount { get; init; }
    /// <summary>null when no error has been recorded (time 0) or the attributes were missing.</summary>
    public Ext4ErrorRecord? FirstError { get; init; }
    public Ext4ErrorRecord? LastError { get; init; }
    public IReadOnlyList<string> Diagnostics { get; init; } = [];

    public bool HasErrors => ErrorsCount > 0 || FirstError is not null;

    public static Ext4SysfsState Parse(string device, IReadOnlyDictionary<string, string> attrs)
    {
        var diags = new List<string>();
        ulong? Num(string name)
        {
            if (!attrs.TryGetValue(name, out var s)) { diags.Add($"/sys/fs/ext4/{device}/{name}: missing"); return null; }
            if (ulong.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v)) return v;
            diags.Add($"/sys/fs/ext4/{device}/{name}: not a number: \"{Trunc(s)}\"");
            return null;
        }
        Ext4ErrorRecord? Rec(string p)
        {
            var time = Num(p + "_time");
            if (time is null or 0) return null;
            string func = attrs.TryGetValue(p + "_func", out var f) ? f.Trim() : "";
            if (func.Length > 64) func = func[..64];
            DateTimeOffset? t = time <= 253402300799UL ? DateTimeOffset.FromUnixTimeSeconds((long)time.Value) : null;
            ulong code = Num(p + "_errcode") ?? 0;
            return new Ext4ErrorRecord(t, Num(p + "_ino") ?? 0, Num(p + "_block") ?? 0,
                (uint)Math.Min(Num(p + "_line") ?? 0, uint.MaxValue), func, (int)Math.Min(code, 255));
        }
        return new Ext4SysfsState
        {
            Device = device, ErrorsCount = Num("errors_count"), MsgCount = Num("msg_count"), WarningCount = Num("warning_count"),
            FirstError = Rec("first_error"), LastError = Rec("last_error"), Diagnostics = diags,
        };
    }

    private static string Trunc(string s) => s.Length > 40 ? s[..40] + "…" : s.Trim();
}

/// <summary>The error-related fields of the on-disk ext4 superblock (1024 bytes at device offset 1024).</summary>
public sealed record Ext4Superblock(ushort State, ushort ErrorsBehaviour, uint ErrorCount, uint FirstErrorIno, uint LastErrorIno,
    string FirstErrorFunc, string LastErrorFunc, int FirstErrCode, int LastErrCode)
{
    public const int Size = 1024, DeviceOffset = 1024;
    public const ushort Magic = 0xEF53, STATE_VALID = 0x1, STATE_ERROR = 0x2, STATE_ORPHAN = 0x4;

    /// <summary>ERROR_FS set: e2fsck will run at the next boot/mount check (also what tune2fs -E force_fsck sets).</summary>
    public bool ErrorFlag => (State & STATE_ERROR) != 0;

    public static Ext4Superblock? Parse(ReadOnlySpan<byte> sb, out string? diagnostic)
    {
        diagnostic = null;
        if (sb.Length < 0x27C) { diagnostic = $"superblock buffer of {sb.Length} bytes is too short"; return null; }
        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(sb[0x38..]);
        if (magic != Magic) { diagnostic = $"bad ext4 superblock magic 0x{magic:x4}"; return null; }
        static uint U32(ReadOnlySpan<byte> b, int o) => BinaryPrimitives.ReadUInt32LittleEndian(b[o..]);
        static ushort U16(ReadOnlySpan<byte> b, int o) => BinaryPrimitives.ReadUInt16LittleEndian(b[o..]);
        static string Str(ReadOnlySpan<byte> b)
        {
            int n = b.IndexOf((byte)0);
            var s = n < 0 ? b : b[..n];
            var chars = new char[s.Length];
            for (int i = 0; i < s.Length; i++) chars[i] = s[i] is >= 0x20 and < 0x7F ? (char)s[i] : '?';
            return new string(chars);
        }
        return new Ext4Superblock(U16(sb, 0x3A), U16(sb, 0x3C), U32(sb, 0x194), U32(sb, 0x19C), U32(sb, 0x1D0),
            Str(sb.Slice(0x1A8, 32)), Str(sb.Slice(0x1E0, 32)), sb[0x27A], sb[0x27B]);
    }
}

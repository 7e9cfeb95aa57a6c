using System.Buffers.Binary;

namespace FsHealer.Fanotify;

/// <summary>fanotify constants (x86_64 uapi).</summary>
public static class FanotifyAbi
{
    public const ulong FAN_Q_OVERFLOW = 0x00004000, FAN_FS_ERROR = 0x00008000,
        FAN_MNT_ATTACH = 0x01000000, FAN_MNT_DETACH = 0x02000000;
    public const uint FAN_CLOEXEC = 0x1, FAN_NONBLOCK = 0x2, FAN_CLASS_NOTIF = 0x0, FAN_UNLIMITED_QUEUE = 0x10,
        FAN_REPORT_FID = 0x200, FAN_REPORT_DIR_FID = 0x400, FAN_REPORT_NAME = 0x800, FAN_REPORT_MNT = 0x4000;
    public const uint FAN_MARK_ADD = 0x1, FAN_MARK_REMOVE = 0x2, FAN_MARK_FLUSH = 0x80,
        FAN_MARK_INODE = 0x0, FAN_MARK_MOUNT = 0x10, FAN_MARK_FILESYSTEM = 0x100, FAN_MARK_MNTNS = 0x110;
    public const byte INFO_FID = 1, INFO_DFID_NAME = 2, INFO_DFID = 3, INFO_PIDFD = 4, INFO_ERROR = 5,
        INFO_RANGE = 6, INFO_MNT = 7, INFO_OLD_DFID_NAME = 10, INFO_NEW_DFID_NAME = 12;
    public const byte METADATA_VERSION = 3;
    public const int MetadataSize = 24;
    public const int FAN_NOFD = -1;
}

/// <summary>One info record inside a fanotify event: its type and its bytes (header included).</summary>
public readonly ref struct FanotifyInfo(byte type, ReadOnlySpan<byte> record)
{
    public byte Type { get; } = type;
    /// <summary>The whole record, starting with the 4-byte header.</summary>
    public ReadOnlySpan<byte> Record { get; } = record;
}

/// <summary>One event: struct fanotify_event_metadata plus its info records.</summary>
public readonly ref struct FanotifyEvent(ulong mask, int fd, int pid, ReadOnlySpan<byte> infoArea)
{
    public ulong Mask { get; } = mask;
    public int Fd { get; } = fd;
    public int Pid { get; } = pid;
    public ReadOnlySpan<byte> InfoArea { get; } = infoArea;

    /// <summary>The info records. Note: <c>foreach</c> iterates a copy of the enumerator, so its
    /// <see cref="InfoEnumerator.Malformed"/> is lost; call <see cref="ValidateInfos"/> (or MoveNext by hand) for it.</summary>
    public InfoEnumerator Infos => new(InfoArea);

    /// <summary>Walks the info records once: null when well-formed, else why not.</summary>
    public string? ValidateInfos()
    {
        var e = new InfoEnumerator(InfoArea);
        while (e.MoveNext()) { }
        return e.Malformed;
    }

    /// <summary>Walks info records; stops (and sets <see cref="InfoEnumerator.Malformed"/>) on a bad length.</summary>
    public ref struct InfoEnumerator(ReadOnlySpan<byte> area)
    {
        private ReadOnlySpan<byte> _rest = area;
        private FanotifyInfo _cur;
        public string? Malformed { get; private set; }
        public readonly FanotifyInfo Current => _cur;
        public readonly InfoEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_rest.IsEmpty) return false;
            if (_rest.Length < 4) { Malformed = $"{_rest.Length} trailing bytes, too short for an info header"; _rest = default; return false; }
            int len = BinaryPrimitives.ReadUInt16LittleEndian(_rest[2..]);
            if (len < 4 || len > _rest.Length) { Malformed = $"info record type {_rest[0]} claims {len} bytes, {_rest.Length} available"; _rest = default; return false; }
            _cur = new FanotifyInfo(_rest[0], _rest[..len]);
            _rest = _rest[len..];
            return true;
        }
    }
}

/// <summary>
/// Walks a buffer returned by read() on a fanotify fd. Every length is bounds-checked: a malformed buffer ends the
/// walk with a diagnostic instead of an exception or an out-of-bounds read.
/// </summary>
public ref struct FanotifyEventReader(ReadOnlySpan<byte> buffer)
{
    private ReadOnlySpan<byte> _rest = buffer;

    /// <summary>Why the walk stopped early, or null.</summary>
    public string? Malformed { get; private set; }

    public bool TryRead(out FanotifyEvent ev)
    {
        ev = default;
        if (_rest.IsEmpty) return false;
        if (_rest.Length < FanotifyAbi.MetadataSize)
        {
            Malformed = $"{_rest.Length} trailing bytes, too short for fanotify_event_metadata";
            _rest = default;
            return false;
        }
        uint eventLen = BinaryPrimitives.ReadUInt32LittleEndian(_rest);
        byte vers = _rest[4];
        ushort metaLen = BinaryPrimitives.ReadUInt16LittleEndian(_rest[6..]);
        if (vers != FanotifyAbi.METADATA_VERSION)
        {
            Malformed = $"fanotify metadata version {vers}, expected {FanotifyAbi.METADATA_VERSION}";
            _rest = default;
            return false;
        }
        if (metaLen < FanotifyAbi.MetadataSize || eventLen < metaLen || eventLen > (uint)_rest.Length)
        {
            Malformed = $"bad fanotify event lengths: event_len {eventLen}, metadata_len {metaLen}, {_rest.Length} bytes left";
            _rest = default;
            return false;
        }
        ulong mask = BinaryPrimitives.ReadUInt64LittleEndian(_rest[8..]);
        int fd = BinaryPrimitives.ReadInt32LittleEndian(_rest[16..]);
        int pid = BinaryPrimitives.ReadInt32LittleEndian(_rest[20..]);
        ev = new FanotifyEvent(mask, fd, pid, _rest[metaLen..(int)eventLen]);
        _rest = _rest[(int)eventLen..];
        return true;
    }
}

using System.Buffers.Binary;

namespace FsHealer.Fanotify;

/// <summary>The result of decoding one read() buffer from a FAN_REPORT_FID group.</summary>
public sealed class FsErrorDecodeResult
{
    public List<FsErrorEvent> Events { get; } = [];
    /// <summary>Problems with the buffer as a whole (malformed lengths, unexpected masks).</summary>
    public List<string> Diagnostics { get; } = [];
    /// <summary>File descriptors the kernel put in events (never expected with FAN_REPORT_FID); the caller must close them.</summary>
    public List<int> StrayFds { get; } = [];
}

/// <summary>
/// Decodes FAN_FS_ERROR (and FAN_Q_OVERFLOW) events. Records are dispatched on info_type (order not assumed),
/// unknown records are skipped with a note, every length is bounds-checked; garbage yields diagnostics, never exceptions.
/// </summary>
public static class FsErrorDecoder
{
    public const int FidHeaderSize = 20;   // header 4 + fsid 8 + handle_bytes 4 + handle_type 4
    public const int ErrorRecordSize = 12; // header 4 + error 4 + error_count 4
    public const int MaxHandleSize = 128;  // MAX_HANDLE_SZ

    private static readonly Dictionary<byte, string> InfoNames = new()
    {
        [FanotifyAbi.INFO_FID] = "FID", [FanotifyAbi.INFO_DFID_NAME] = "DFID_NAME", [FanotifyAbi.INFO_DFID] = "DFID",
        [FanotifyAbi.INFO_PIDFD] = "PIDFD", [FanotifyAbi.INFO_ERROR] = "ERROR", [FanotifyAbi.INFO_RANGE] = "RANGE",
        [FanotifyAbi.INFO_MNT] = "MNT", [FanotifyAbi.INFO_OLD_DFID_NAME] = "OLD_DFID_NAME",
        [FanotifyAbi.INFO_NEW_DFID_NAME] = "NEW_DFID_NAME",
    };

    public static string InfoName(byte type) => InfoNames.TryGetValue(type, out var n) ? n : $"type {type}";

    public static FsErrorDecodeResult Decode(ReadOnlySpan<byte> buffer)
    {
        var result = new FsErrorDecodeResult();
        var reader = new FanotifyEventReader(buffer);
        while (reader.TryRead(out var ev))
        {
            if (ev.Fd >= 0) result.StrayFds.Add(ev.Fd);
            if ((ev.Mask & FanotifyAbi.FAN_Q_OVERFLOW) != 0)
                result.Events.Add(new FsErrorEvent { Kind = FsErrorKind.Overflow, FilesystemWide = true, Pid = ev.Pid });
            if ((ev.Mask & FanotifyAbi.FAN_FS_ERROR) != 0)
                result.Events.Add(DecodeError(ev));
            ulong other = ev.Mask & ~(FanotifyAbi.FAN_Q_OVERFLOW | FanotifyAbi.FAN_FS_ERROR);
            if (other != 0) result.Diagnostics.Add($"fanotify event with unexpected mask bits 0x{other:x} ignored");
        }
        if (reader.Malformed is { } m) result.Diagnostics.Add(m);
        return result;
    }

    private static FsErrorEvent DecodeError(FanotifyEvent ev)
    {
        var notes = new List<string>();
        FsId? fsid = null;
        int handleType = FileIdTypes.FILEID_INVALID;
        byte[] handle = [];
        bool haveFid = false, haveError = false;
        int error = 0;
        uint count = 0;

        var infos = ev.Infos;
        while (infos.MoveNext())
        {
            var info = infos.Current;
            var r = info.Record;
            switch (info.Type)
            {
                case FanotifyAbi.INFO_FID:
                    if (haveFid) { notes.Add("duplicate FID record ignored"); break; }
                    if (r.Length < FidHeaderSize) { notes.Add($"FID record of {r.Length} bytes is shorter than {FidHeaderSize}"); break; }
                    uint hb = BinaryPrimitives.ReadUInt32LittleEndian(r[12..]);
                    int ht = BinaryPrimitives.ReadInt32LittleEndian(r[16..]);
                    if (hb > MaxHandleSize || hb > (uint)(r.Length - FidHeaderSize))
                    {
                        notes.Add($"FID record claims {hb} handle bytes, {r.Length - FidHeaderSize} present (max {MaxHandleSize}); handle dropped");
                        fsid = new FsId(BinaryPrimitives.ReadInt32LittleEndian(r[4..]), BinaryPrimitives.ReadInt32LittleEndian(r[8..]));
                        haveFid = true;
                        break;
                    }
                    fsid = new FsId(BinaryPrimitives.ReadInt32LittleEndian(r[4..]), BinaryPrimitives.ReadInt32LittleEndian(r[8..]));
                    handleType = ht;
                    handle = r.Slice(FidHeaderSize, (int)hb).ToArray();
                    haveFid = true;
                    break;
                case FanotifyAbi.INFO_ERROR:
                    if (haveError) { notes.Add("duplicate ERROR record ignored"); break; }
                    if (r.Length < ErrorRecordSize) { notes.Add($"ERROR record of {r.Length} bytes is shorter than {ErrorRecordSize}"); break; }
                    error = BinaryPrimitives.ReadInt32LittleEndian(r[4..]);
                    count = BinaryPrimitives.ReadUInt32LittleEndian(r[8..]);
                    if (error < 0) { notes.Add($"negative error {error} in ERROR record, sign flipped"); error = error == int.MinValue ? 0 : -error; }
                    haveError = true;
                    break;
                default:
                    notes.Add($"unknown info record {InfoName(info.Type)} ({r.Length} bytes) skipped");
                    break;
            }
        }
        if (infos.Malformed is { } m) notes.Add(m);
        if (!haveFid) notes.Add("no FID record: filesystem unknown");
        if (!haveError) notes.Add("no ERROR record: errno and count unknown");

        uint? ino = null, gen = null;
        bool fsWide = !haveFid || handleType == FileIdTypes.FILEID_INVALID || handle.Length == 0;
        if (!fsWide && handleType == FileIdTypes.FILEID_INO32_GEN)
        {
            if (handle.Length >= 8)
            {
                ino = BinaryPrimitives.ReadUInt32LittleEndian(handle);
                gen = BinaryPrimitives.ReadUInt32LittleEndian(handle.AsSpan(4));
            }
            else notes.Add($"FILEID_INO32_GEN handle of {handle.Length} bytes is shorter than 8");
        }
        if (handleType == FileIdTypes.FILEID_INVALID && handle.Length != 0)
            notes.Add($"FILEID_INVALID handle with {handle.Length} bytes");

        return new FsErrorEvent
        {
            Kind = FsErrorKind.Error, Fsid = fsid, FilesystemWide = fsWide, HandleType = handleType, Handle = handle,
            Inode = ino, Generation = gen, Error = error, ErrorCount = haveError ? count : 1, Pid = ev.Pid, Notes = notes,
        };
    }
}

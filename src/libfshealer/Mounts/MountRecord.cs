using System.Buffers.Binary;
using FsHealer.Fanotify;

namespace FsHealer.Mounts;

/// <summary>A decoded fanotify mount event: mask bits (ATTACH/DETACH/overflow) and the unique mount id.</summary>
public readonly record struct MountNotification(ulong Mask, ulong MountId)
{
    public bool Attach => (Mask & FanotifyAbi.FAN_MNT_ATTACH) != 0;
    public bool Detach => (Mask & FanotifyAbi.FAN_MNT_DETACH) != 0;
    public bool Overflow => (Mask & FanotifyAbi.FAN_Q_OVERFLOW) != 0;
    /// <summary>The kernel reports a moved mount as one event with ATTACH|DETACH.</summary>
    public bool Move => Attach && Detach;
}

/// <summary>Decodes FAN_REPORT_MNT events (info type 7: 4-byte header, 4 bytes padding, u64 mnt_id at offset 8).</summary>
public static class MountRecordDecoder
{
    public const int MntRecordSize = 16;

    /// <summary>Decode every event in a read() buffer. Malformed records give diagnostics, never exceptions.</summary>
    public static List<MountNotification> DecodeAll(ReadOnlySpan<byte> buffer, List<string> diagnostics)
    {
        var list = new List<MountNotification>();
        var reader = new FanotifyEventReader(buffer);
        while (reader.TryRead(out var ev))
        {
            if ((ev.Mask & FanotifyAbi.FAN_Q_OVERFLOW) != 0)
            {
                list.Add(new MountNotification(ev.Mask, 0));
                continue;
            }
            if ((ev.Mask & (FanotifyAbi.FAN_MNT_ATTACH | FanotifyAbi.FAN_MNT_DETACH)) == 0)
            {
                diagnostics.Add($"fanotify: unexpected event mask 0x{ev.Mask:x} on the mount watcher");
                continue;
            }
            ulong? id = null;
            var infos = ev.Infos;
            while (infos.MoveNext())
            {
                var info = infos.Current;
                if (info.Type != FanotifyAbi.INFO_MNT)
                {
                    diagnostics.Add($"fanotify: unexpected info record type {info.Type} (len {info.Record.Length}) in a mount event");
                    continue;
                }
                if (info.Record.Length < MntRecordSize)
                {
                    diagnostics.Add($"fanotify: mount record of {info.Record.Length} bytes, expected {MntRecordSize}");
                    continue;
                }
                id = BinaryPrimitives.ReadUInt64LittleEndian(info.Record[8..]);
            }
            if (infos.Malformed is not null) diagnostics.Add($"fanotify: {infos.Malformed}");
            if (id is null) diagnostics.Add($"fanotify: mount event (mask 0x{ev.Mask:x}) without a mount record");
            else list.Add(new MountNotification(ev.Mask, id.Value));
        }
        if (reader.Malformed is not null) diagnostics.Add($"fanotify: {reader.Malformed}");
        return list;
    }
}

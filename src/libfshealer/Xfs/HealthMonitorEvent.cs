using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace FsHealer.Xfs;

/// <summary>
/// One 64-byte <c>struct xfs_health_monitor_event</c> (format V0), kept as raw words so that every domain, type
/// and union layout — including unknown ones from newer kernels — survives decoding unchanged.
/// Layout: u32 domain @0, u32 type @4, u64 time_ns @8, 32-byte union @16 (words W0..W3), u64 pad[2] @48.
/// The ABI is host-endian; fshealer targets little-endian Linux (x86_64, aarch64).
/// </summary>
public readonly record struct HealthMonitorEvent(
    HealthDomain Domain, HealthEventType Type, ulong TimeNs, ulong W0, ulong W1, ulong W2, ulong W3, ulong Pad0, ulong Pad1)
{
    public const int Size = XfsAbi.HealthMonitorEventSize;

    // lost
    public ulong LostCount => W0;
    // fs / group / inode
    public uint Mask => (uint)W0;
    public uint GroupNumber => (uint)(W0 >> 32);
    public uint InodeGen => (uint)(W0 >> 32);
    public ulong InodeIno => W1;
    // shutdown
    public uint ShutdownReasons => (uint)W0;
    // media
    public ulong MediaDaddr => W0;
    public ulong MediaBbCount => W1;
    // filerange
    public ulong FilePos => W0;
    public ulong FileLen => W1;
    public ulong FileIno => W2;
    public uint FileGen => (uint)W3;
    public uint FileError => (uint)(W3 >> 32);

    /// <summary>Non-zero padding: a newer kernel may be using the space. The event is still handled.</summary>
    public bool HasNonZeroPadding => (Pad0 | Pad1) != 0;

    public bool IsKnownDomain => (uint)Domain <= (uint)HealthDomain.FileRange;
    public bool IsKnownType => (uint)Type <= (uint)HealthEventType.DataLost;

    /// <summary>Decode one record. Never throws for any 64-byte input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static HealthMonitorEvent Decode(ReadOnlySpan<byte> r)
    {
        if (r.Length < Size) throw new ArgumentException($"a health monitor record is {Size} bytes, got {r.Length}", nameof(r));
        return new HealthMonitorEvent(
            (HealthDomain)BinaryPrimitives.ReadUInt32LittleEndian(r),
            (HealthEventType)BinaryPrimitives.ReadUInt32LittleEndian(r[4..]),
            BinaryPrimitives.ReadUInt64LittleEndian(r[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(r[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(r[24..]),
            BinaryPrimitives.ReadUInt64LittleEndian(r[32..]),
            BinaryPrimitives.ReadUInt64LittleEndian(r[40..]),
            BinaryPrimitives.ReadUInt64LittleEndian(r[48..]),
            BinaryPrimitives.ReadUInt64LittleEndian(r[56..]));
    }

    /// <summary>Encode to the kernel's byte layout (used by the simulator, the recorder and tests).</summary>
    public void Encode(Span<byte> r)
    {
        if (r.Length < Size) throw new ArgumentException($"need {Size} bytes", nameof(r));
        BinaryPrimitives.WriteUInt32LittleEndian(r, (uint)Domain);
        BinaryPrimitives.WriteUInt32LittleEndian(r[4..], (uint)Type);
        BinaryPrimitives.WriteUInt64LittleEndian(r[8..], TimeNs);
        BinaryPrimitives.WriteUInt64LittleEndian(r[16..], W0);
        BinaryPrimitives.WriteUInt64LittleEndian(r[24..], W1);
        BinaryPrimitives.WriteUInt64LittleEndian(r[32..], W2);
        BinaryPrimitives.WriteUInt64LittleEndian(r[40..], W3);
        BinaryPrimitives.WriteUInt64LittleEndian(r[48..], Pad0);
        BinaryPrimitives.WriteUInt64LittleEndian(r[56..], Pad1);
    }

    public byte[] ToBytes() { var b = new byte[Size]; Encode(b); return b; }

    // ---- constructors for each union layout (simulator, tests, replay files) ----
    public static HealthMonitorEvent Running(ulong t = 0) => new(HealthDomain.Mount, HealthEventType.Running, t, 0, 0, 0, 0, 0, 0);
    public static HealthMonitorEvent Unmount(ulong t = 0) => new(HealthDomain.Mount, HealthEventType.Unmount, t, 0, 0, 0, 0, 0, 0);
    public static HealthMonitorEvent Lost(ulong count, ulong t = 0) => new(HealthDomain.Mount, HealthEventType.Lost, t, count, 0, 0, 0, 0, 0);
    public static HealthMonitorEvent Shutdown(uint reasons, ulong t = 0) => new(HealthDomain.Mount, HealthEventType.Shutdown, t, reasons, 0, 0, 0, 0, 0);
    public static HealthMonitorEvent Fs(HealthEventType type, uint mask, ulong t = 0) => new(HealthDomain.Fs, type, t, mask, 0, 0, 0, 0, 0);
    public static HealthMonitorEvent Group(HealthDomain domain, HealthEventType type, uint gno, uint mask, ulong t = 0) =>
        new(domain, type, t, mask | ((ulong)gno << 32), 0, 0, 0, 0, 0);
    public static HealthMonitorEvent Inode(HealthEventType type, ulong ino, uint gen, uint mask, ulong t = 0) =>
        new(HealthDomain.Inode, type, t, mask | ((ulong)gen << 32), ino, 0, 0, 0, 0);
    public static HealthMonitorEvent Media(HealthDomain device, ulong daddr, ulong bbcount, ulong t = 0) =>
        new(device, HealthEventType.MediaError, t, daddr, bbcount, 0, 0, 0, 0);
    public static HealthMonitorEvent FileRange(HealthEventType type, ulong ino, uint gen, ulong pos, ulong len, uint error, ulong t = 0) =>
        new(HealthDomain.FileRange, type, t, pos, len, ino, gen | ((ulong)error << 32), 0, 0);
}

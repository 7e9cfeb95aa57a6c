using FsHealer.Xfs;

namespace FsHealer.Core.Tests.Xfs;

/// <summary>Request codes and struct sizes against the uapi headers (fs/xfs/libxfs/xfs_fs.h): every code is re-derived from _IOC(dir, 'X', nr, size).</summary>
public class AbiLayoutTests
{
    private const uint W = 1, R = 2, RW = 3;
    private static uint Ioc(uint dir, uint nr, uint size) => dir << 30 | size << 16 | (uint)'X' << 8 | nr;

    [Theory]
    [InlineData(XfsAbi.IocHealthMonitor, W, 68u, 32u)]
    [InlineData(XfsAbi.IocHealthFdOnMonitoredFs, W, 69u, 8u)]
    [InlineData(XfsAbi.IocVerifyMedia, RW, 70u, 40u)]
    [InlineData(XfsAbi.IocScrubMetadata, RW, 60u, 64u)]
    [InlineData(XfsAbi.IocFsGeometry, R, 126u, 256u)]
    [InlineData(XfsAbi.IocAgGeometry, RW, 61u, 128u)]
    [InlineData(XfsAbi.IocRtGroupGeometry, RW, 65u, 128u)]
    [InlineData(XfsAbi.IocBulkstat, R, 127u, 64u)]
    [InlineData(XfsAbi.IocInumbers, R, 128u, 64u)]
    [InlineData(XfsAbi.IocFdToHandle, RW, 106u, 56u)]
    [InlineData(XfsAbi.IocGetParentsByHandle, RW, 63u, 64u)]
    [InlineData(XfsAbi.IocGoingDown, R, 125u, 4u)]
    public void RequestCodes(uint code, uint dir, uint nr, uint size) => Assert.Equal(Ioc(dir, nr, size), code);

    [Fact]
    public void StructSizes()
    {
        Assert.Equal(32, XfsAbi.HealthMonitorRequestSize);
        Assert.Equal(64, XfsAbi.HealthMonitorEventSize);
        Assert.Equal(8, XfsAbi.HealthFdOnMonitoredFsSize);
        Assert.Equal(64, XfsAbi.ScrubMetadataSize);
        Assert.Equal(256, XfsAbi.FsGeometrySize);
        Assert.Equal(128, XfsAbi.AgGeometrySize);
        Assert.Equal(40, XfsAbi.VerifyMediaSize);
        Assert.Equal(24, XfsHandle.Size);
    }

    [Fact]
    public void GeometryOffsets()
    {
        Assert.Equal((12, 64, 88, 92, 112, 116),
            (XfsAbi.GeomOffsetAgCount, XfsAbi.GeomOffsetUuid, XfsAbi.GeomOffsetVersion, XfsAbi.GeomOffsetFlags, XfsAbi.GeomOffsetSick, XfsAbi.GeomOffsetChecked));
        Assert.Equal(0x80000u, XfsAbi.GeomFlagRmapBt);
        Assert.Equal(0x2000000u, XfsAbi.GeomFlagParent);
    }

    [Fact]
    public void EventUnionOffsets_FromTheEncoder()
    {
        var b = HealthMonitorEvent.FileRange(HealthEventType.DioRead, ino: 0x1111, gen: 0x22, pos: 0x33, len: 0x44, error: 5, t: 0x55).ToBytes();
        Assert.Equal(0x33UL, BitConverter.ToUInt64(b, 16));   // pos
        Assert.Equal(0x44UL, BitConverter.ToUInt64(b, 24));   // len
        Assert.Equal(0x1111UL, BitConverter.ToUInt64(b, 32)); // ino
        Assert.Equal(0x22u, BitConverter.ToUInt32(b, 40));    // gen
        Assert.Equal(5u, BitConverter.ToUInt32(b, 44));       // error
        Assert.Equal(0x55UL, BitConverter.ToUInt64(b, 8));    // time_ns
        var i = HealthMonitorEvent.Inode(HealthEventType.Sick, 0x99, 0x77, 0x10).ToBytes();
        Assert.Equal((0x10u, 0x77u, 0x99UL), (BitConverter.ToUInt32(i, 16), BitConverter.ToUInt32(i, 20), BitConverter.ToUInt64(i, 24)));
        var h = new byte[24];
        new XfsHandle(0xAABB, 7, 128).Encode(h);
        Assert.Equal((0xAABBUL, (ushort)14, 7u, 128UL), (BitConverter.ToUInt64(h, 0), BitConverter.ToUInt16(h, 8), BitConverter.ToUInt32(h, 12), BitConverter.ToUInt64(h, 16)));
    }
}

using FsHealer.Media;

namespace FsHealer.Scenario.Tests.Media;

/// <summary>A simulated 7.0 kernel implementing XFS_IOC_VERIFY_MEDIA as fs/xfs/xfs_verify_media.c (Linux 7.0) does.</summary>
public sealed class SimulatedVerifyMediaKernel : IVerifyMediaIoctl
{
    public ulong SizeDaddr { get; init; } = 8192;          // 4 MiB
    public uint LbaSize { get; init; } = 512;
    public bool HasLogDev { get; init; }
    public bool HasRtDev { get; init; }
    public bool Supported { get; init; } = true;
    public Dictionary<ulong, int> BadDaddr { get; } = [];  // sector -> errno
    public List<(ulong Start, ulong End, uint MaxIo)> Calls { get; } = [];
    public List<(ulong Daddr, ulong Len)> Reads { get; } = [];
    public int InterruptAfterCalls { get; init; } = -1;

    public int Call(ref VerifyMediaRequest r)
    {
        if (!Supported) return 25; // ENOTTY
        Calls.Add((r.StartDaddr, r.EndDaddr, r.MaxIoSize));
        if (r.Device is < 1 or > 3 || (r.Flags & ~VerifyMediaRequest.FlagReport) != 0 || r.Pad != 0) return 22;
        if (r.Device == 2 && !HasLogDev || r.Device == 3 && !HasRtDev) return 19; // ENODEV
        ulong lba = LbaSize / 512;
        if (r.StartDaddr % lba != 0 || (r.EndDaddr != ulong.MaxValue && r.EndDaddr % lba != 0)) return 22;
        r.EndDaddr = Math.Min(r.EndDaddr, SizeDaddr);
        if (r.StartDaddr >= r.EndDaddr) return 0;
        if (InterruptAfterCalls >= 0 && Calls.Count > InterruptAfterCalls) return 4; // EINTR: fatal signal
        ulong io = Math.Max(1, (r.MaxIoSize == 0 ? 1u << 20 : Math.Min(r.MaxIoSize, 1u << 20)) / 512);
        io = Math.Max(io, lba);
        ulong orig = r.StartDaddr;
        while (r.StartDaddr < r.EndDaddr)
        {
            ulong len = Math.Min(io, r.EndDaddr - r.StartDaddr);
            Reads.Add((r.StartDaddr, len));
            int err = 0;
            for (ulong d = r.StartDaddr; d < r.StartDaddr + len; d++) if (BadDaddr.TryGetValue(d, out err)) break; else err = 0;
            if (err != 0)
            {
                if (r.StartDaddr == orig) r.IoError = (uint)err;
                return 0;
            }
            r.StartDaddr += len;
        }
        return 0;
    }
}

public class VerifyMediaScenarioTests
{
    private static (VerifyMediaResult R, List<string> Out, List<string> Err) Run(IVerifyMediaIoctl k, VerifyMediaOptions o, CancellationToken ct = default)
    {
        var outl = new List<string>(); var errl = new List<string>();
        var t = TimeSpan.Zero;
        var r = VerifyMediaTool.Run(k, o, "/mnt", outl.Add, errl.Add, () => t += TimeSpan.FromMilliseconds(250), ct);
        return (r, outl, errl);
    }

    [Fact]
    public void Probe_SucceedsOnKernelWithIoctl_AndSendsStartOneEndZero()
    {
        var k = new SimulatedVerifyMediaKernel();
        Assert.Equal(0, VerifyMediaTool.Probe(k));
        Assert.Equal((1UL, 0UL, 0u), k.Calls.Single());
        Assert.Empty(k.Reads);
        Assert.Equal(25, VerifyMediaTool.Probe(new SimulatedVerifyMediaKernel { Supported = false }));
    }

    [Fact]
    public void CleanDevice_WholeRange_ClampsEnd_AndPrintsXfsIoReport()
    {
        var k = new SimulatedVerifyMediaKernel();
        var (r, o, e) = Run(k, new VerifyMediaOptions());
        Assert.Equal(0, r.ExitCode);
        Assert.Empty(e);
        Assert.Equal(4UL << 20, r.VerifiedBytes);
        Assert.Equal(ulong.MaxValue, k.Calls[0].End);   // "to the end"
        Assert.Single(k.Calls);                          // one call did it all
        Assert.Equal(4, k.Reads.Count);                  // 1 MiB reads
        Assert.Equal("verified 4194304/4194304 bytes at offset 0", o[0]);
        Assert.Equal("4 MiB, 1 ops; 0.2500 sec (16 MiB/sec and 4.0000 ops/sec)", o[1]);
    }

    [Fact]
    public void ErrorInMiddle_KernelStopsShort_NextCallGivesErrno_ThenScanContinues()
    {
        var k = new SimulatedVerifyMediaKernel();
        k.BadDaddr[2048 + 100] = 61; // ENODATA in the second MiB
        var (r, o, e) = Run(k, new VerifyMediaOptions());
        // call 1 verifies the first MiB and stops at 2048 with me_ioerror 0; call 2 fails at once -> ENODATA; call 3 goes on
        Assert.Equal([(0UL, ulong.MaxValue, 0u), (2048UL, 8192UL, 0u), (4096UL, 8192UL, 0u)], k.Calls);
        Assert.Equal(["datadev: verify error at offset 1048576 length 1048576: No data available"], e);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(3UL << 20, r.VerifiedBytes);
        Assert.Equal("verified 3145728/4194304 bytes at offset 0", o[0]);
        Assert.Equal(new VerifyMediaError(XfsVerifyDevice.Data, 1048576, 1048576, 61), r.Errors.Single());
    }

    [Fact]
    public void SmallMaxIo_PinpointsBadSector_AndStartEndAreBytesRounded()
    {
        var k = new SimulatedVerifyMediaKernel();
        k.BadDaddr[1000] = 5;
        var (r, _, e) = Run(k, new VerifyMediaOptions { StartBytes = 500 * 512 + 100, EndBytes = 1200 * 512 - 3, MaxIo = 512, Report = true });
        Assert.Equal(500UL, k.Calls[0].Start);  // rounded down
        Assert.Equal(1200UL, k.Calls[0].End);   // rounded up
        Assert.Equal(512u, k.Calls[0].MaxIo);
        Assert.Equal(["datadev: verify error at offset 512000 length 512: Input/output error"], e);
        Assert.Equal(699UL * 512, r.VerifiedBytes);
        Assert.Equal(700UL * 512, r.RequestedBytes);
    }

    [Fact]
    public void Pinpoint_NarrowsFailedMiBToTheBadSectors()
    {
        var k = new SimulatedVerifyMediaKernel();
        k.BadDaddr[2100] = 5; k.BadDaddr[2101] = 5; k.BadDaddr[3000] = 61;
        var (r, o, e) = Run(k, new VerifyMediaOptions { Pinpoint = true });
        Assert.Equal(["datadev: verify error at offset 1075200 length 1024: Input/output error",
                      "datadev: verify error at offset 1536000 length 512: No data available"], e);
        Assert.Equal((4UL << 20) - 1536, r.VerifiedBytes);
        Assert.Equal("verified 4192768/4194304 bytes at offset 0", o[0]);
        Assert.All(k.Calls.Skip(2).SkipLast(1), c => Assert.Equal(512u, c.MaxIo));
    }

    [Fact]
    public void ErrorAtVeryStart_ReportedOnFirstCall()
    {
        var k = new SimulatedVerifyMediaKernel();
        k.BadDaddr[0] = 84;
        var (_, _, e) = Run(k, new VerifyMediaOptions { EndBytes = 4096, MaxIo = 4096 });
        Assert.Equal("datadev: verify error at offset 0 length 4096: Invalid or incomplete multibyte or wide character", e.Single());
        Assert.Single(k.Calls);
    }

    [Fact]
    public void EndBeyondDevice_IsClampedByKernel_RequestedIsDeviceSize()
    {
        var k = new SimulatedVerifyMediaKernel { SizeDaddr = 100 };
        var (r, o, _) = Run(k, new VerifyMediaOptions { EndBytes = 1 << 30 });
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("verified 51200/51200 bytes at offset 0", o[0]);
    }

    [Fact]
    public void StartBeyondEnd_DoesNothing()
    {
        var k = new SimulatedVerifyMediaKernel();
        var (r, o, _) = Run(k, new VerifyMediaOptions { StartBytes = 4096, EndBytes = 1024 });
        Assert.Equal(0, r.ExitCode);
        Assert.Empty(k.Calls);
        Assert.Equal("verified 0/0 bytes at offset 4096", o[0]);
    }

    [Theory]
    [InlineData(XfsVerifyDevice.Log, "xfs_io: ioctl(XFS_IOC_VERIFY_MEDIA) [\"/mnt\"]: No such device")]
    [InlineData(XfsVerifyDevice.Rt, "xfs_io: ioctl(XFS_IOC_VERIFY_MEDIA) [\"/mnt\"]: No such device")]
    public void MissingDevice_IoctlErrorLine(XfsVerifyDevice d, string line)
    {
        var (r, o, e) = Run(new SimulatedVerifyMediaKernel(), new VerifyMediaOptions { Device = d });
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(line, e.Single());
        Assert.Empty(o);
        Assert.Equal(19, r.IoctlErrno);
    }

    [Fact]
    public void LogDevice_ErrorLineNamesLogdev()
    {
        var k = new SimulatedVerifyMediaKernel { HasLogDev = true };
        k.BadDaddr[0] = 110;
        var (_, _, e) = Run(k, new VerifyMediaOptions { Device = XfsVerifyDevice.Log, EndBytes = 512, MaxIo = 512 });
        Assert.Equal("logdev: verify error at offset 0 length 512: Connection timed out", e.Single());
    }

    [Fact]
    public void UnalignedForLbaSize_Einval()
    {
        var k = new SimulatedVerifyMediaKernel { LbaSize = 4096 };
        var (r, _, e) = Run(k, new VerifyMediaOptions { StartBytes = 512 });
        Assert.Equal(22, r.IoctlErrno);
        Assert.Equal("xfs_io: ioctl(XFS_IOC_VERIFY_MEDIA) [\"/mnt\"]: Invalid argument", e.Single());
    }

    [Fact]
    public void FatalSignal_Eintr_StopsWithIoctlError()
    {
        var k = new SimulatedVerifyMediaKernel { InterruptAfterCalls = 1 };
        k.BadDaddr[3000] = 5;
        var (r, _, e) = Run(k, new VerifyMediaOptions());
        Assert.Equal(4, r.IoctlErrno);
        Assert.Equal("xfs_io: ioctl(XFS_IOC_VERIFY_MEDIA) [\"/mnt\"]: Interrupted system call", e.Single());
        Assert.Equal(1UL << 20, r.VerifiedBytes); // call 1 stopped at the bad MiB, call 2 was interrupted
    }

    [Fact]
    public void RandomBadSectors_EveryOneIsReported_WithSectorMaxIo()
    {
        var rng = new Random(42);
        for (int round = 0; round < 50; round++)
        {
            var k = new SimulatedVerifyMediaKernel { SizeDaddr = 256 };
            var bad = Enumerable.Range(0, rng.Next(0, 6)).Select(_ => (ulong)rng.Next(0, 256)).ToHashSet();
            foreach (var b in bad) k.BadDaddr[b] = 5;
            var (r, _, _) = Run(k, new VerifyMediaOptions { MaxIo = 512 });
            Assert.Equal(bad.OrderBy(x => x).Select(b => b * 512), r.Errors.Select(x => x.Offset));
            Assert.Equal((256UL - (ulong)bad.Count) * 512, r.VerifiedBytes);
        }
    }

    [Fact]
    public void RandomBadSectors_Pinpoint_WithLargeReads_NamesExactlyTheBadSectors()
    {
        var rng = new Random(99);
        for (int round = 0; round < 50; round++)
        {
            var k = new SimulatedVerifyMediaKernel { SizeDaddr = (ulong)rng.Next(1, 20000) };
            var bad = Enumerable.Range(0, rng.Next(0, 10)).Select(_ => (ulong)rng.NextInt64(0, (long)k.SizeDaddr)).ToHashSet();
            foreach (var b in bad) k.BadDaddr[b] = 5;
            var (r, _, _) = Run(k, new VerifyMediaOptions { Pinpoint = true, MaxIo = (uint)rng.Next(1, 300) * 512 });
            var named = r.Errors.SelectMany(x => Enumerable.Range(0, (int)(x.Length / 512)).Select(i => x.Offset / 512 + (ulong)i)).ToHashSet();
            Assert.True(bad.SetEquals(named), $"round {round}: [{string.Join(',', bad.Order())}] vs [{string.Join(',', named.Order())}]");
            Assert.Equal((k.SizeDaddr - (ulong)bad.Count) * 512, r.VerifiedBytes);
        }
    }

    [Fact]
    public void KernelThatNeverAdvances_DoesNotSpin()
    {
        var (r, _, e) = Run(new StuckKernel(), new VerifyMediaOptions());
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("made no progress", e.Single());
    }

    private sealed class StuckKernel : IVerifyMediaIoctl
    {
        public int Call(ref VerifyMediaRequest r) => 0;
    }

    [Theory]
    [InlineData("4096", 4096UL)]
    [InlineData("1m", 1048576UL)]
    [InlineData("2k", 2048UL)]
    [InlineData("3b", 1536UL)]
    [InlineData("0x10", 16UL)]
    public void ParseNumber_Cvtnum(string s, ulong v) => Assert.Equal(v, VerifyMediaTool.ParseNumber(s));

    [Theory]
    [InlineData("x")]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("99999999999999999999e")]
    public void ParseNumber_Rejects(string s) => Assert.Null(VerifyMediaTool.ParseNumber(s));

    [Fact]
    public void Request_Encodes40BytesAtDocumentedOffsets()
    {
        var r = new VerifyMediaRequest { Device = 1, Flags = 1, StartDaddr = 0x0102030405060708, EndDaddr = ulong.MaxValue, IoError = 5, MaxIoSize = 4096, RestUs = 7, Pad = 0 };
        var b = new byte[40];
        r.Encode(b);
        Assert.Equal(1, b[0]); Assert.Equal(1, b[4]); Assert.Equal(8, b[8]); Assert.Equal(0xff, b[16]); Assert.Equal(5, b[24]);
        Assert.Equal(0x10, b[29]); Assert.Equal(7, b[32]);
        Assert.Equal(r, VerifyMediaRequest.Decode(b));
    }
}

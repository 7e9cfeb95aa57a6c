using System.Diagnostics;
using System.Text;
using FsHealer.Xfs;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Xfs;

/// <summary>
/// The released xfs_healer (xfsprogs 7.x, from Debian: scripts/sid-packages.sh xfsprogs) and `fshealer xfs-healer`
/// on the same scratch XFS, fed the same records by the LD_PRELOAD health-monitor stand-in of
/// bench/xfs-healer-compare (built here with gcc), repairs answered with the same scripted outcomes, a fake systemctl
/// first on PATH. Every case compares stdout, stderr and the exit code byte for byte. A 6.18 kernel has no health
/// monitor and no online scrub, so without the stand-in neither program gets past its setup.
/// </summary>
public sealed class XfsHealerParityFixture : IDisposable
{
    private readonly object _lock = new();
    private bool _ready;
    private string? _skip;

    public ScratchFs? Fs { get; private set; }
    public string Work { get; } = Directory.CreateTempSubdirectory("fshealer-parity-").FullName;
    public string Shim => Path.Combine(Work, "healthmon_shim.so");
    public string FakeBin => Path.Combine(Work, "bin");
    public string XfsHealer { get; } = Environment.GetEnvironmentVariable("FSHEALER_XFS_HEALER")
        ?? "/var/cache/fshealer/sid/root/usr/libexec/xfsprogs/xfs_healer";

    /// <summary>Skip the test (with the reason) unless everything is here; set up once.</summary>
    public void Require()
    {
        lock (_lock)
        {
            if (!_ready && _skip is null) _skip = Setup();
            _ready = true;
        }
        if (_skip is not null) Assert.Skip(_skip);
    }

    private string? Setup()
    {
        if (!FsHealer.Interop.Libc.IsRoot) return "needs root (loop device, mount)";
        foreach (var t in new[] { "gcc", "losetup", "mkfs.xfs", "bash" })
            if (!Sh.Has(t)) return $"{t} is not installed";
        if (!File.Exists(XfsHealer))
            return $"the released xfs_healer is not at {XfsHealer} (scripts/sid-packages.sh xfsprogs fetches it; or set FSHEALER_XFS_HEALER)";
        var ldd = Sh.Run("ldd", XfsHealer);
        if (ldd.Code != 0 || ldd.Out.Contains("not found"))
            return $"{XfsHealer} cannot run here (apt-get install liburcu8): {ldd.Out.Trim()}";
        var src = Path.Combine(RepoRoot(), "bench", "xfs-healer-compare", "healthmon_shim.c");
        var cc = Sh.Run("gcc", "-O2", "-shared", "-fPIC", "-o", Shim, src, "-ldl");
        if (cc.Code != 0) return $"gcc could not build the shim: {cc.Err}";
        Directory.CreateDirectory(FakeBin);
        // systemctl start --no-block: succeeds or fails as FAKE_SYSTEMCTL_EXIT says, prints nothing
        File.WriteAllText(Path.Combine(FakeBin, "systemctl"), "#!/bin/sh\nexit ${FAKE_SYSTEMCTL_EXIT:-0}\n");
        File.SetUnixFileMode(Path.Combine(FakeBin, "systemctl"), (UnixFileMode)0b111_101_101);
        // rmapbt: with the autofsck property unset, both log without repairing (the no-advice rule)
        Fs = ScratchFs.Create("xfs", mkfsArgs: ["-m", "rmapbt=1"], tag: "xfs-parity");
        return null;
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "fshealer.slnx"))) return d.FullName;
        throw new InvalidOperationException("fshealer.slnx not found above " + AppContext.BaseDirectory);
    }

    public void Dispose()
    {
        Fs?.Dispose();
        try { Directory.Delete(Work, recursive: true); } catch (IOException) { }
    }
}

public class XfsHealerParityTests(XfsHealerParityFixture f) : IClassFixture<XfsHealerParityFixture>
{
    public sealed record Output(int Code, string Out, string Err)
    {
        public override string ToString() => $"exit {Code}\n--- stdout\n{Out}--- stderr\n{Err}";
    }

    private string Mnt
    {
        get { f.Require(); return f.Fs!.Mnt; }
    }

    public enum Program { Released, FshealerXfsHealer, Dropin }

    /// <summary>Run one program on <paramref name="stream"/> (null: no stand-in stream) with the shim's settings.</summary>
    private Output Run(Program which, string[] args, byte[]? stream, Dictionary<string, string>? shim = null, int systemctlExit = 0)
    {
        var psi = which switch
        {
            // argv[0] "xfs_healer", as when run from PATH: glibc's getopt messages print argv[0]
            Program.Released => new ProcessStartInfo("bash") { ArgumentList = { "-c", "exec -a xfs_healer \"$0\" \"$@\"", f.XfsHealer } },
            Program.FshealerXfsHealer => new ProcessStartInfo("dotnet") { ArgumentList = { typeof(FsHealer.Cli.Program).Assembly.Location, "xfs-healer" } },
            _ => new ProcessStartInfo("dotnet") { ArgumentList = { typeof(FsHealer.XfsHealer.Program).Assembly.Location } },
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        psi.Environment.Remove("SERVICE_MODE");
        psi.Environment["PATH"] = f.FakeBin + ":" + Environment.GetEnvironmentVariable("PATH");
        psi.Environment["FAKE_SYSTEMCTL_EXIT"] = systemctlExit.ToString();
        psi.Environment["LD_PRELOAD"] = f.Shim;
        if (stream is not null)
        {
            var file = Path.Combine(f.Work, $"stream-{Guid.NewGuid():n}");
            File.WriteAllBytes(file, stream);
            psi.Environment["HEALTHMON_SHIM_STREAM"] = file;
        }
        foreach (var (k, v) in shim ?? []) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var o = new MemoryStream();
        var e = new MemoryStream();
        var to = p.StandardOutput.BaseStream.CopyToAsync(o);
        var te = p.StandardError.BaseStream.CopyToAsync(e);
        if (!p.WaitForExit(TimeSpan.FromSeconds(60))) { p.Kill(true); Assert.Fail($"{psi.FileName} {string.Join(' ', psi.ArgumentList)} hung"); }
        Task.WaitAll(to, te);
        // Latin-1: one char per byte, so the comparison is byte for byte and a mismatch prints readably
        return new Output(p.ExitCode, Encoding.Latin1.GetString(o.ToArray()), Encoding.Latin1.GetString(e.ToArray()));
    }

    private (Output Released, Output Ours) Both(string[] args, byte[]? stream, Dictionary<string, string>? shim = null, int systemctlExit = 0,
        Program ours = Program.FshealerXfsHealer)
    {
        f.Require();
        var c = Run(Program.Released, args, stream, shim, systemctlExit);
        var o = Run(ours, args, stream, shim, systemctlExit);
        return (c, o);
    }

    private void Same(string[] args, byte[]? stream, Dictionary<string, string>? shim = null, int systemctlExit = 0, Func<Output, bool>? sanity = null,
        Program program = Program.FshealerXfsHealer)
    {
        var (c, ours) = Both(args, stream, shim, systemctlExit, program);
        Assert.Equal(c.ToString(), ours.ToString());
        if (sanity is not null) Assert.True(sanity(c), $"the case does not exercise what it should:\n{c}");
    }

    // ---- streams ----

    private static byte[] Stream(IEnumerable<HealthMonitorEvent> events, bool unmount = true, int trailing = 0)
    {
        var all = new List<HealthMonitorEvent> { HealthMonitorEvent.Running() };
        all.AddRange(events);
        if (unmount) all.Add(HealthMonitorEvent.Unmount());
        return [.. all.SelectMany(e => e.ToBytes()), .. new byte[trailing].Select((_, i) => (byte)(i + 1))];
    }

    /// <summary>A storm slice of every domain and type (the bench's cycle), without LOST and SHUTDOWN.</summary>
    private static IEnumerable<HealthMonitorEvent> Mix(int n)
    {
        for (int i = 1; i <= n; i++)
        {
            ulong ino = 131 + 64 * (ulong)i;
            uint gen = (uint)(i * 2654435761u), gno = (uint)(i % 7);
            yield return (i % 16) switch
            {
                0 => HealthMonitorEvent.Fs(HealthEventType.Sick, 0x81),
                1 => HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Sick, gno, 0x10),
                2 => HealthMonitorEvent.Inode(HealthEventType.Sick, ino, gen, 0x90),
                3 => HealthMonitorEvent.Fs(HealthEventType.Corrupt, 0x2),
                4 => HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Healthy, gno, 0x0A),
                5 => HealthMonitorEvent.Group(HealthDomain.RtGroup, HealthEventType.Sick, gno, 0x02),
                6 => HealthMonitorEvent.Media(HealthDomain.DataDev, 0x1000 + (ulong)i, 8),
                7 => HealthMonitorEvent.FileRange(HealthEventType.BufRead, ino, gen, 4096 * (ulong)(i % 1000), 4096, 5),
                8 => HealthMonitorEvent.Inode(HealthEventType.Corrupt, ino, gen, 0x01),
                9 => HealthMonitorEvent.FileRange(HealthEventType.DataLost, ino, gen, 8192, 65536, 0),
                10 => HealthMonitorEvent.Media(HealthDomain.LogDev, 0x40 + (ulong)i, 16),
                11 => HealthMonitorEvent.FileRange(HealthEventType.DioWrite, ino, gen, 1 << 20, 512, 28),
                12 => HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Corrupt, gno, 0x400),
                13 => HealthMonitorEvent.Media(HealthDomain.RtDev, (ulong)i, 1),
                14 => HealthMonitorEvent.Inode(HealthEventType.Healthy, ino, gen, 0x06),
                _ => HealthMonitorEvent.Inode(HealthEventType.Sick, ino, gen, 0x01),
            };
        }
    }

    /// <summary>Records a newer kernel could send, unknown bits, odd values — logged as far as understood.</summary>
    private static IEnumerable<HealthMonitorEvent> Oddities() =>
    [
        HealthMonitorEvent.Lost(32),
        HealthMonitorEvent.Fs(HealthEventType.Sick, 0x3FF | 0x1000),
        HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Corrupt, 0x12345, 0x7FF | 0x8000),
        HealthMonitorEvent.Group(HealthDomain.RtGroup, HealthEventType.Healthy, 3, 0x1F | 0x40),
        HealthMonitorEvent.Inode(HealthEventType.Corrupt, (1UL << 63) + 5, 0xFFFFFFFF, 0x1FF | 0x4000),
        HealthMonitorEvent.FileRange(HealthEventType.DioRead, 99, 1, ulong.MaxValue, 1UL << 63, 61),
        HealthMonitorEvent.FileRange(HealthEventType.BufWrite, 99, 1, 0, 1, 4095),
        HealthMonitorEvent.FileRange(HealthEventType.BufRead, 99, 1, 0, 1, 0),
        new((HealthDomain)9, HealthEventType.Sick, 0, 1, 0, 0, 0, 0, 0),
        new(HealthDomain.Mount, (HealthEventType)13, 0, 0, 0, 0, 0, 0, 0),
        new(HealthDomain.Fs, HealthEventType.MediaError, 0, 1, 0, 0, 0, 0, 0),
        new(HealthDomain.Fs, (HealthEventType)99, 0, 1, 0, 0, 0, 0, 0),
        new(HealthDomain.DataDev, (HealthEventType)99, 0, 1, 2, 0, 0, 0, 0),
        new(HealthDomain.FileRange, (HealthEventType)77, 0, 1, 2, 3, 4, 0, 0),
        new(HealthDomain.Fs, HealthEventType.Corrupt, 0, 4, 0, 0, 0, 7, 9),    // non-zero padding
        HealthMonitorEvent.Shutdown(0x3F | 0x100),
    ];

    private static Dictionary<string, string> Shim(params (string K, string V)[] kv) => kv.ToDictionary(x => x.K, x => x.V);

    /// <summary>SICK events in every metadata domain: 8 scrub calls, two per event.</summary>
    private static IEnumerable<HealthMonitorEvent> SickEverywhere() =>
    [
        HealthMonitorEvent.Fs(HealthEventType.Sick, 0x81),                                 // fscounters, nlinks
        HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Sick, 3, 0x30),          // bnobt, cntbt
        HealthMonitorEvent.Group(HealthDomain.RtGroup, HealthEventType.Sick, 1, 0x03),     // super, bitmap
        HealthMonitorEvent.Inode(HealthEventType.Sick, 4242, 7, 0x90),                     // directory, parent
    ];

    // ---- the cases ----

    [Fact] public void Default_Mix() => Same([Mnt], Stream(Mix(200)), sanity: c => c.Out.Split('\n').Length > 200);
    [Fact] public void Quiet_Mix() => Same(["--quiet", Mnt], Stream(Mix(200)), sanity: c => c.Out.Contains("monitoring started") && !c.Out.Contains("media error"));
    [Fact] public void Everything_Mix() => Same(["--everything", Mnt], Stream(Mix(200)));
    [Fact] public void Default_UnknownAndOddRecords() => Same([Mnt], Stream(Oddities()), sanity: c => c.Err.Length == 0 && c.Out.Contains("unknown value"));
    [Fact] public void Everything_UnknownAndOddRecords() => Same(["--everything", "--quiet", Mnt], Stream(Oddities()));
    [Fact] public void EofWithoutUnmount_TruncatedRecord() => Same([Mnt], Stream(Mix(40), unmount: false, trailing: 13), sanity: c => c.Code == 0 && c.Err.Length == 0);
    [Fact] public void EofWithoutUnmount() => Same(["--quiet", Mnt], Stream(Mix(40), unmount: false));

    [Theory]
    [InlineData("success")]
    [InlineData("unnecessary")]
    [InlineData("xfail")]
    public void Repair_EachOutcome(string outcome) =>
        Same(["--repair", Mnt], Stream(SickEverywhere()), Shim(("HEALTHMON_SHIM_SCRUB", outcome)),
            sanity: c => c.Out.Split('\n').Count(l => l.Contains(": Repair") || l.Contains(": No modification") || l.Contains(": Seems correct")) == 8);

    /// <summary>A failed repair (by output flag or by errno) stops that event and starts the full check; the other
    /// events still repair. One failure per stream: more would meet fshealer's full-check rate limit (below).</summary>
    [Theory]
    [InlineData("corrupt", 0)]
    [InlineData("incomplete", 0)]
    [InlineData("errno:5", 0)]
    [InlineData("corrupt", 1)]
    public void Repair_FailureStartsTheFullCheck(string outcome, int systemctlExit) =>
        Same(["--repair", Mnt], Stream(SickEverywhere()), Shim(("HEALTHMON_SHIM_SCRUB", $"{outcome},success,success,success,success,success,success")),
            systemctlExit, c => c.Out.Contains("Repair unsuccessful") && (systemctlExit == 0 ? c.Out.Contains("Full repairs in progress.") : c.Err.Contains("Could not start xfs_scrub service unit")));

    [Fact] public void Repair_StructuresWithoutATargetedRepair_StartTheFullCheck() =>
        Same(["--repair", Mnt], Stream([HealthMonitorEvent.Fs(HealthEventType.Sick, 0x301)]), sanity: c => c.Out.Contains("Full repairs in progress."));

    [Fact] public void Repair_AgInodesOnly_StartsTheFullCheck() =>
        Same(["--repair", "--quiet", Mnt], Stream([HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Sick, 2, 0x400)]), sanity: c => c.Out.Contains("Full repairs in progress."));

    [Fact] public void Repair_LostEvents_StartTheFullCheck() =>
        Same(["--repair", Mnt], Stream([HealthMonitorEvent.Lost(7)]), sanity: c => c.Out.Contains("Full repairs in progress."));

    [Fact] public void Repair_LostEvents_WithEverything_DoNot() =>
        Same(["--repair", "--everything", Mnt], Stream([HealthMonitorEvent.Lost(7)]), sanity: c => !c.Out.Contains("Full repairs"));

    [Fact] public void Repair_NotTheMonitoredFilesystem_StaleHandle() =>
        Same(["--repair", Mnt], Stream([.. SickEverywhere(), HealthMonitorEvent.Fs(HealthEventType.Sick, 0), new((HealthDomain)9, HealthEventType.Sick, 0, 1, 0, 0, 0, 0, 0)]),
            Shim(("HEALTHMON_SHIM_SAMEFS_ERRNO", "116")), sanity: c => c.Err.Split('\n').Count(l => l.EndsWith("cannot open filesystem to repair: Stale file handle")) == 6);

    [Fact] public void Repair_KernelCannotRepair_Exits() =>
        Same(["--repair", Mnt], Stream(SickEverywhere()), Shim(("HEALTHMON_SHIM_PROBE", "errno:25")), sanity: c => c.Code == 1 && c.Err.Contains("not supported, exiting"));

    [Fact] public void Supported() => Same(["--supported", Mnt], Stream(Mix(3)), sanity: c => c.Code == 0);
    [Fact] public void Supported_Repair() => Same(["--supported", "--repair", Mnt], Stream(Mix(3)), sanity: c => c.Code == 0);

    [Theory]
    [InlineData(25, false)]   // ENOTTY: a kernel without the monitor
    [InlineData(95, false)]   // EOPNOTSUPP
    [InlineData(17, false)]   // EEXIST: another healer
    [InlineData(17, true)]
    [InlineData(1, true)]     // EPERM
    public void MonitorCannotBeOpened(int errno, bool supported) =>
        Same(supported ? ["--supported", Mnt] : [Mnt], null, Shim(("HEALTHMON_SHIM_MONITOR_ERRNO", errno.ToString())), sanity: c => c.Code != 0);

    public static TheoryData<string[]> CliCases() => new()
    {
        Array.Empty<string>(), new[] { "a", "b" }, new[] { "--bogus", "/mnt" }, new[] { "-x", "/mnt" }, new[] { "--help" },
        new[] { "--repair=1", "/mnt" }, new[] { "--s", "/mnt" }, new[] { "--svcname", "/mnt/x-y" }, new[] { "--svcname", "/" },
        new[] { "--svcname", "/mnt/a b/ünï" }, new[] { "--nonexistent-option" }, new[] { "--debug", "--quiet", "--", "/nonexistent" },
        new[] { "/proc" }, new[] { "-V", "--bogus" },
    };

    [Theory]
    [MemberData(nameof(CliCases))]
    public void CommandLine(string[] args) => Same(args, null);

    [Fact] public void NotAMountPoint()
    {
        f.Require();
        var sub = Path.Combine(Mnt, "sub");
        Directory.CreateDirectory(sub);
        Same([sub], Stream(Mix(3)), sanity: c => c.Err.Contains("Not a XFS mount point."));
    }

    [Fact] public void UnicodeMountPoint()
    {
        f.Require();
        var dir = Path.Combine(f.Fs!.Dir, "mnt-é-日本");
        Directory.CreateDirectory(dir);
        f.Fs.Mount(Mnt, dir, "--bind");
        try
        {
            Same([dir], Stream(Mix(20)), sanity: c => c.Out.Contains(Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(dir)) + ": monitoring started"));
        }
        finally { f.Fs.Umount(dir); }
    }

    /// <summary>fshealer-xfs-healer (the per-mount binary) is the same program: a few cases through it too.</summary>
    [Fact] public void Dropin_Default() => Same([Mnt], Stream(Mix(100)), program: Program.Dropin);
    [Fact] public void Dropin_RepairFailure() =>
        Same(["--repair", "--quiet", Mnt], Stream(SickEverywhere()), Shim(("HEALTHMON_SHIM_SCRUB", "errno:5,xfail,unnecessary,success,success,success,success")), program: Program.Dropin);
    [Fact] public void Dropin_CommandLineError() => Same(["--bogus", "x"], null, program: Program.Dropin);

    // ---- deliberate differences (README.md "Differences from xfs_healer") ----

    /// <summary>-V: the version is fshealer's own.</summary>
    [Fact] public void Version_IsFshealers()
    {
        var (c, ours) = Both(["-V"], null);
        Assert.StartsWith("xfs_healer version 7.", c.Out);
        Assert.Equal($"xfs_healer version {FsHealer.Product.Version}\n", ours.Out);
        Assert.Equal((c.Code, c.Err), (ours.Code, ours.Err));
    }

    /// <summary>After SHUTDOWN fshealer stops repairing (latched, one notice); xfs_healer keeps trying.</summary>
    [Fact] public void ShutdownLatch()
    {
        var (c, ours) = Both(["--repair", Mnt], Stream([HealthMonitorEvent.Shutdown(0x4), .. SickEverywhere()]));
        Assert.Contains(": Repairs successful.", c.Out);
        var notice = $"{Mnt}: filesystem has shut down; no further repairs will be attempted.\n";
        Assert.Equal(c.Out.Split('\n').Where(l => !l.Contains(": Repairs successful.")), ours.Out.Split('\n'));
        Assert.Equal(c.Err + notice, ours.Err);
        Assert.Equal(c.Code, ours.Code);
    }

    /// <summary>Full checks are rate-limited: one start per window, a notice for the first suppressed one.</summary>
    [Fact] public void FullCheckRateLimit()
    {
        var (c, ours) = Both(["--repair", "--quiet", Mnt], Stream(SickEverywhere()), Shim(("HEALTHMON_SHIM_SCRUB", "corrupt")));
        Assert.Equal(4, c.Out.Split('\n').Count(l => l.EndsWith(": Full repairs in progress.")));
        Assert.Single(ours.Out.Split('\n'), l => l.EndsWith(": Full repairs in progress."));
        Assert.Equal(c.Out.Split('\n').Where(l => !l.EndsWith(": Full repairs in progress.")), ours.Out.Split('\n').Where(l => !l.EndsWith(": Full repairs in progress.")));
        var extra = ours.Err[c.Err.Length..];
        Assert.StartsWith(c.Err, ours.Err);
        Assert.Matches($"^{System.Text.RegularExpressions.Regex.Escape(Mnt)}: full check already started recently; not starting another before \\d\\d:\\d\\d:\\d\\d \\(a targeted repair failed\\)\\.\n$", extra);
    }

    /// <summary>Control characters in a mount point are escaped (\n, \t, \xNN): a newline cannot forge a log line.</summary>
    [Fact] public void ControlCharactersInTheMountPoint_AreEscaped()
    {
        f.Require();
        var dir = Path.Combine(f.Fs!.Dir, "mnt\nfake: filesystem unmounted\u001b[1m");
        Directory.CreateDirectory(dir);
        f.Fs.Mount(Mnt, dir, "--bind");
        try
        {
            var (c, ours) = Both([dir], Stream(Mix(20)));
            var escaped = dir.Replace("\n", "\\n").Replace("\u001b", "\\x1b");
            Assert.Contains(dir + ": monitoring started\n", c.Out);
            Assert.Equal(c.Out.Replace(dir, escaped), ours.Out);
            Assert.Equal((c.Code, c.Err.Replace(dir, escaped)), (ours.Code, ours.Err));
        }
        finally { f.Fs.Umount(dir); }
    }
}

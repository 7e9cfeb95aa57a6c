using FsHealer.Service;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Interop;

namespace FsHealer.Kernel.Tests.Reliability;

/// <summary>Privilege: capget agrees with the kernel's view; without CAP_SYS_ADMIN repairs are refused clearly.</summary>
public sealed class PrivilegeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fshealer-priv-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private static ulong ProcStatusCap(string text, string field)
    {
        foreach (var l in text.Split('\n'))
            if (l.StartsWith(field + ":", StringComparison.Ordinal))
            {
                Assert.True(CapabilitySet.TryParseStatusHex(l[(field.Length + 1)..], out var v));
                return v;
            }
        throw new InvalidOperationException($"{field} not in status");
    }

    [Fact]
    public void Capget_matches_proc_status_CapEff()
    {
        var eff = Capabilities.Effective(out var err);
        Assert.Null(err);
        Assert.Equal(ProcStatusCap(File.ReadAllText("/proc/self/status"), "CapEff"), eff);
        Assert.Equal(CapabilitySet.Has(eff!.Value, CapabilitySet.CAP_SYS_ADMIN), Capabilities.HasCapSysAdmin());
        if (Libc.IsRoot)
        {
            Assert.True(Capabilities.HasCapSysAdmin());
            Assert.True(Capabilities.HasCapDacReadSearch());
            Assert.True(Capabilities.RequireForRepair(out var msg));
            Assert.Equal("", msg);
        }
    }

    [Fact]
    public void Refusal_message_names_the_capability_and_the_remedy()
    {
        string? m = CapabilitySet.RepairRefusal(0x1fffedfffff & ~(1UL << CapabilitySet.CAP_SYS_ADMIN), "fshealer run");
        Assert.NotNull(m);
        Assert.StartsWith("fshealer run: refusing to run repairs without CAP_SYS_ADMIN", m);
        Assert.Contains("AmbientCapabilities=CAP_SYS_ADMIN", m);
        Assert.Null(CapabilitySet.RepairRefusal(1UL << CapabilitySet.CAP_SYS_ADMIN, "x"));
        Assert.Equal("cap_sys_admin", CapabilitySet.Name(21));
        Assert.Equal("cap_dac_read_search", CapabilitySet.Name(2));
    }

    private static Sh.Result Dropped(params string[] cmd) =>
        Sh.Run("setpriv", ["--bounding-set=-sys_admin", "--inh-caps=-sys_admin", .. cmd]);

    /// <summary>A process without CAP_SYS_ADMIN: the kernel's CapEff lacks bit 21, so the check refuses.</summary>
    [Fact]
    public void Without_cap_sys_admin_the_check_refuses()
    {
        Sh.RequireRoot();
        Sh.RequireTools("setpriv");
        var r = Dropped("cat", "/proc/self/status");
        Assert.Equal(0, r.Code);
        ulong eff = ProcStatusCap(r.Out, "CapEff");
        Assert.False(CapabilitySet.Has(eff, CapabilitySet.CAP_SYS_ADMIN));
        Assert.True(CapabilitySet.Has(eff, CapabilitySet.CAP_DAC_READ_SEARCH)); // only sys_admin was dropped
        Assert.NotNull(CapabilitySet.RepairRefusal(eff, "fshealer"));
    }

    /// <summary>
    /// The CLI without CAP_SYS_ADMIN never repairs: xfs-healer --repair exits non-zero before monitoring; `run --repair`
    /// cannot follow mounts and says so with the errno. (With the RequireForRepair line the lead adds, both print the
    /// refusal message instead; the test accepts either and prints what it saw.)
    /// </summary>
    [Fact]
    public void Cli_without_cap_sys_admin_does_not_repair()
    {
        Sh.RequireRoot();
        Sh.RequireTools("setpriv", "mkfs.xfs", "losetup");
        using var fs = ScratchFs.Create("xfs", tag: "priv");
        string dll = typeof(FsHealer.Cli.Program).Assembly.Location;
        var x = Dropped("timeout", "20", "dotnet", dll, "xfs-healer", "--repair", fs.Mnt);
        TestContext.Current.TestOutputHelper?.WriteLine($"xfs-healer --repair without cap_sys_admin: rc {x.Code}: {x.Out.Trim()} {x.Err.Trim()}");
        Assert.NotEqual(0, x.Code);
        Assert.NotEqual(124, x.Code); // did not sit there monitoring
        Assert.DoesNotContain("monitoring started", x.Out);
        Assert.True(x.Err.Contains("CAP_SYS_ADMIN") || x.Err.Contains("online repair is not supported"), x.Err);

        var r = Dropped("timeout", "20", "dotnet", dll, "run", "--repair", "--duration", "3", "--state-dir", Path.Combine(_dir, "st"));
        TestContext.Current.TestOutputHelper?.WriteLine($"run --repair without cap_sys_admin: rc {r.Code}: {r.Err.Trim()}");
        Assert.True(r.Err.Contains("CAP_SYS_ADMIN") || r.Err.Contains("EPERM"), r.Err);
        Assert.DoesNotContain("Repairs successful", r.Out);
    }

    [Fact]
    public void State_directory_is_0700_and_btrfs_state_file_is_0600()
    {
        string dir = Path.Combine(_dir, "state");
        Assert.Null(PrivateState.EnsureDirectory(dir));
        Assert.Equal(PrivateState.DirMode, File.GetUnixFileMode(dir));
        // an existing, too-open directory is tightened
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        Assert.Null(PrivateState.EnsureDirectory(dir));
        Assert.Equal(PrivateState.DirMode, File.GetUnixFileMode(dir));

        string file = Path.Combine(dir, "btrfs-8-16.json");
        Assert.Null(FsHealer.Btrfs.Live.BtrfsStateFile.Save(file, "{\"devices\":[]}"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        // rewrite over a file someone made world-readable: the new file is 0600 again (atomic replace)
        File.SetUnixFileMode(file, (UnixFileMode)0b110_100_100);
        Assert.Null(FsHealer.Btrfs.Live.BtrfsStateFile.Save(file, "{\"devices\":[]}"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp.*")); // no temp files left behind

        var bad = PrivateState.EnsureDirectory("/proc/self/nope");
        Assert.NotNull(bad);
        Assert.Contains("/proc/self/nope", bad);
    }
}

using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Packaging;

/// <summary>Every shipped systemd unit passes `systemd-analyze verify` (no systemd PID 1 is needed for that).</summary>
public class UnitFileTests
{
    private static string Repo([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "../../.."));

    [Theory]
    [InlineData("fshealer.service")]
    [InlineData("fshealer@.service")]
    [InlineData("fshealer-fail@.service")]
    [InlineData("system-fshealer.slice")]
    public void SystemdAnalyzeVerify(string unit)
    {
        Sh.RequireTools("systemd-analyze");
        var dir = Directory.CreateTempSubdirectory("fshealer-units-").FullName;
        try
        {
            // point ExecStart at the binary we just built so that verify can check it exists and is executable
            var exe = Path.Combine(AppContext.BaseDirectory, "fshealer");
            Assert.True(File.Exists(exe), $"apphost {exe} missing");
            foreach (var f in Directory.GetFiles(Path.Combine(Repo(), "packaging/systemd")))
                File.WriteAllText(Path.Combine(dir, Path.GetFileName(f)), File.ReadAllText(f)
                    .Replace("/usr/sbin/fshealer", exe).Replace("/usr/libexec/fshealer/fshealer-fail", Path.Combine(Repo(), "packaging/fshealer-fail")));
            var name = unit.Contains("@.") ? unit.Replace("@.", unit.StartsWith("fshealer-fail") ? "@fshealer.service." : "@mnt-data.") : unit;
            if (unit.Contains("@.")) File.Copy(Path.Combine(dir, unit), Path.Combine(dir, name));
            var r = Sh.RunIn(dir, "systemd-analyze", "verify", "--man=no", Path.Combine(dir, name));
            var problems = (r.Out + r.Err).Split('\n').Where(l => l.Length > 0 && l.Contains(dir)).ToArray();
            Assert.True(r.Code == 0 && problems.Length == 0, $"rc {r.Code}: {r.Out}{r.Err}");
        }
        finally { Directory.Delete(dir, true); }
    }

    private const string Upstream = "/var/cache/fshealer/sid/root/usr/lib/systemd/system/xfs_healer@.service";

    /// <summary>The per-mount unit matches or beats upstream's xfs_healer@.service (xfsprogs 7.2: 1.8) in
    /// `systemd-analyze security`; fshealer.service stays at or below its documented score. Both are pinned, so a
    /// directive dropped by accident shows.</summary>
    [Fact]
    public void Security_scores_match_or_beat_upstream()
    {
        Sh.RequireTools("systemd-analyze");
        var dir = Path.Combine(Repo(), "packaging/systemd");
        double perMount = UnitSandbox.SecurityScore(Path.Combine(dir, "fshealer@.service"));
        double daemon = UnitSandbox.SecurityScore(Path.Combine(dir, "fshealer.service"));
        // upstream's own unit when scripts/sid-packages.sh has unpacked xfsprogs 7.x here, else its published score
        double upstream = File.Exists(Upstream) ? UnitSandbox.SecurityScore(Upstream) : 1.8;
        TestContext.Current.TestOutputHelper?.WriteLine($"fshealer@.service {perMount}, xfs_healer@.service {upstream}, fshealer.service {daemon}");
        Assert.True(perMount <= upstream, $"fshealer@.service scores {perMount}, upstream xfs_healer@.service {upstream}");
        Assert.True(perMount <= 1.6, $"fshealer@.service scores {perMount} (was 1.6)");
        Assert.True(daemon <= 4.8, $"fshealer.service scores {daemon} (was 4.8)");
        Assert.Contains($"`systemd-analyze security` {daemon.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)}", File.ReadAllText(Path.Combine(dir, "fshealer.service")));
        Assert.Contains($"`systemd-analyze security` {perMount.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)}", File.ReadAllText(Path.Combine(dir, "fshealer@.service")));
    }

    /// <summary>fshealer.service: no setting that gives it a mount namespace (a slave namespace would keep offline
    /// repair's unmount from the host), and what operations need: CAP_SYSLOG, reload, no restart loop on a broken
    /// configuration, a failure report.</summary>
    [Fact]
    public void Daemon_unit_shares_the_host_mount_namespace_and_has_the_operations_directives()
    {
        var text = File.ReadAllText(Path.Combine(Repo(), "packaging/systemd/fshealer.service"));
        var unit = UnitSandbox.Parse(text);
        string[] namespacing = ["PrivateTmp", "PrivateDevices", "PrivateMounts", "ProtectSystem", "ProtectHome", "ProtectKernelTunables", "ProtectKernelModules",
            "ProtectKernelLogs", "ProtectControlGroups", "ProtectProc", "ProcSubset", "ReadOnlyPaths", "ReadWritePaths", "InaccessiblePaths", "TemporaryFileSystem",
            "BindPaths", "BindReadOnlyPaths", "RootDirectory", "RootImage", "MountFlags", "DynamicUser", "PrivateUsers", "LogsDirectory", "MountAPIVFS"];
        foreach (var d in namespacing) Assert.DoesNotContain(d, unit.Directives);
        Assert.Contains("CAP_SYSLOG", unit.Bounding!.Select(c => c.ToUpperInvariant()));
        Assert.Equal("/bin/kill -HUP $MAINPID", unit.Last("ExecReload"));
        Assert.Equal("78", unit.Last("RestartPreventExitStatus"));
        Assert.Equal("notify", unit.Last("Type"));
        Assert.Contains("OnFailure=fshealer-fail@%n.service", text);
        Assert.Contains("\nMemoryDenyWriteExecute=true\n", text);
        var perMount = File.ReadAllText(Path.Combine(Repo(), "packaging/systemd/fshealer@.service"));
        Assert.Contains("OnFailure=fshealer-fail@%n.service", perMount);
    }

    [Fact]
    public void XfsHealerWrapper_IsTwoLinesAndExecutable()
    {
        var path = Path.Combine(Repo(), "packaging/xfs_healer");
        var lines = File.ReadAllLines(path).Where(l => !l.StartsWith('#') || l.StartsWith("#!")).ToArray();
        Assert.Equal(["#!/bin/sh", "exec fshealer xfs-healer \"$@\""], lines);
        Assert.True(File.GetUnixFileMode(path).HasFlag(UnixFileMode.UserExecute));
    }
}

/// <summary>The units' sandbox, emulated (UnitSandbox), on this build: why the package ships the Native AOT build.
/// Under MemoryDenyWriteExecute=true the JIT cannot create executable code, and the .NET runtime does not start;
/// the AOT binary runs under the same restrictions (DebianPackageTests runs the installed one).</summary>
public class JitUnderUnitSandboxTests
{
    private static string Repo([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "../../.."));

    [Theory]
    [InlineData("fshealer.service")]
    [InlineData("fshealer@.service")]
    public void The_JIT_build_cannot_start_under_the_units_restrictions(string unit)
    {
        Sh.RequireRoot();
        var box = UnitSandbox.Parse(File.ReadAllText(Path.Combine(Repo(), "packaging/systemd", unit)));
        var work = Directory.CreateTempSubdirectory("fshealer-jit-sandbox-").FullName;
        try
        {
            var dll = typeof(FsHealer.Cli.Program).Assembly.Location;
            var args = box.Wrap(["dotnet", dll, "--version"], work);
            var r = Sh.Run(args[0], args[1..]);
            Assert.NotEqual(0, r.Code);
            Assert.DoesNotContain(FsHealer.Cli.Cli.Version, r.Out);
            TestContext.Current.TestOutputHelper?.WriteLine($"JIT under {unit}: rc {r.Code}: {(r.Out + r.Err).Trim()}");
            // the same command without the restrictions works: it is the sandbox, not the command
            Assert.Equal(0, Sh.Run("dotnet", dll, "--version").Code);
        }
        finally { Directory.Delete(work, true); }
    }
}

/// <summary>The journal catalog compiles with journalctl and explains every MESSAGE_ID fshealer sends.</summary>
public class JournalCatalogTests
{
    private static string Repo([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "../../.."));

    [Fact]
    public void Journalctl_builds_the_catalog_and_lists_every_message_id()
    {
        Sh.RequireTools("journalctl");
        var root = Directory.CreateTempSubdirectory("fshealer-catalog-").FullName;
        try
        {
            var dir = Directory.CreateDirectory(Path.Combine(root, "usr/lib/systemd/catalog")).FullName;
            File.Copy(Path.Combine(Repo(), "packaging/journal/fshealer.catalog"), Path.Combine(dir, "fshealer.catalog"));
            var update = Sh.Run("journalctl", $"--root={root}", "--update-catalog");
            Assert.True(update.Code == 0 && update.Err.Trim().Length == 0, $"journalctl --update-catalog: rc {update.Code}: {update.Err}");
            var list = Sh.Run("journalctl", $"--root={root}", "--list-catalog").Out;
            foreach (var (cls, id) in FsHealer.Service.Journal.JournalFormat.MessageIds)
                Assert.Matches($@"(?m)^{id} fshealer: \S", list);
            Assert.Equal(FsHealer.Service.Journal.JournalFormat.MessageIds.Count, list.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        finally { Directory.Delete(root, true); }
    }
}

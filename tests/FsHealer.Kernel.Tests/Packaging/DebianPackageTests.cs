using System.Diagnostics;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Packaging;

/// <summary>
/// The .deb built by scripts/package-deb.sh, installed with `apt-get install ./fshealer_*.deb` into a fresh Debian 12
/// (an overlay over a cached debootstrap --variant=minbase root; the cached root is never changed): the files, the
/// units (`systemd-analyze verify --root`), the service enabled like Debian enables xfs_healer, `fshealer run` and the
/// per-mount `fshealer xfs-healer` under their units' capability sets, system call filters and /proc restrictions
/// (UnitSandbox), then remove and purge leaving nothing behind. The package is built once per run ($FSHEALER_DEB, set
/// by scripts/test.sh; otherwise the test builds it).
/// </summary>
[Collection("package")]
public class DebianPackageTests
{
    private static string Repo([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "../../.."));

    private static readonly Lazy<string> DebPath = new(() =>
    {
        if (Environment.GetEnvironmentVariable("FSHEALER_DEB") is { Length: > 0 } d && File.Exists(d)) return d;
        var r = Sh.RunIn(Repo(), Path.Combine(Repo(), "scripts/package-deb.sh"), "--out", Path.Combine(Repo(), "artifacts"));
        if (r.Code != 0) throw new InvalidOperationException($"scripts/package-deb.sh failed ({r.Code}): {r.Err}{r.Out}");
        return r.Out.Trim().Split('\n')[^1];
    });

    private static string Deb()
    {
        Sh.RequireTools("dpkg-deb", "dpkg-shlibdeps", "fakeroot");
        return DebPath.Value;
    }

    private static string[] Contents(string deb) =>
        Sh.Check("dpkg-deb", "-c", deb).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l[(l.IndexOf("./", StringComparison.Ordinal) + 1)..].Split(" -> ")[0].TrimEnd('/')).Where(p => p.Length > 0).ToArray();

    [Fact]
    public void Package_holds_the_native_binary_units_docs_and_nothing_foreign()
    {
        var deb = Deb();
        var files = Contents(deb);
        foreach (var f in new[]
        {
            "/usr/libexec/fshealer/fshealer", "/usr/sbin/fshealer", "/usr/libexec/fshealer/xfs_healer", "/usr/libexec/fshealer/fshealer-fail",
            "/usr/libexec/fshealer/fshealer-xfs-healer",
            "/lib/systemd/system/fshealer.service", "/lib/systemd/system/fshealer@.service", "/lib/systemd/system/fshealer-fail@.service",
            "/lib/systemd/system/system-fshealer.slice", "/usr/share/man/man8/fshealer.8.gz", "/usr/share/man/man5/fshealer.json.5.gz",
            "/usr/share/bash-completion/completions/fshealer", "/usr/share/doc/fshealer/fshealer.json.example", "/usr/share/doc/fshealer/copyright",
            "/usr/share/fshealer/prometheus/fshealer-alerts.yml", "/usr/share/fshealer/grafana/fshealer-dashboard.json",
            "/usr/lib/systemd/catalog/fshealer.catalog", "/etc/fshealer/fshealer.json", "/etc/fshealer/hooks.d",
        })
            Assert.Contains(f, files);
        // no debug files, no managed assemblies or runtimes of other systems: one native executable (+ SQLite)
        Assert.DoesNotContain(files, f => f.EndsWith(".pdb") || f.EndsWith(".dbg") || f.EndsWith(".dll") || f.EndsWith(".dylib")
            || f.Contains("/runtimes/") || f.Contains("win-") || f.Contains("osx"));
        Assert.All(files.Where(f => f.StartsWith("/usr/libexec/fshealer/") && f.EndsWith(".so")), f => Assert.Equal("/usr/libexec/fshealer/libe_sqlite3.so", f));
        var control = Sh.Check("dpkg-deb", "-f", deb);
        Assert.Matches(@"(?m)^Depends: .*libc6", control);
        Assert.Matches(@"(?m)^Depends: .*procps", control);
        Assert.Equal("/etc/fshealer/fshealer.json", ControlFile(deb, "conffiles").Trim());
        var size = new FileInfo(deb).Length;
        TestContext.Current.TestOutputHelper?.WriteLine($"{Path.GetFileName(deb)}: {size / 1024} KiB, {files.Length} entries");
        Assert.True(size < 32 << 20, $"package is {size} bytes");
    }

    private static string ControlFile(string deb, string name)
    {
        var dir = Directory.CreateTempSubdirectory("fshealer-ctrl-").FullName;
        try
        {
            Sh.Check("dpkg-deb", "-e", deb, dir);
            return File.ReadAllText(Path.Combine(dir, name));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Every file and directory of a root (its own file systems only), for the before/after comparison.</summary>
    private static HashSet<string> Snapshot(string root)
    {
        var r = Sh.Run("find", root, "-xdev");
        return r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(p => p[root.Length..]).Where(p => p.Length > 0).ToHashSet();
    }

    /// <summary>What apt and dpkg themselves keep (logs, caches, their databases): not the package's leftovers.</summary>
    private static bool Bookkeeping(string p) =>
        p.StartsWith("/var/lib/dpkg") || p.StartsWith("/var/lib/apt") || p.StartsWith("/var/cache/apt") || p.StartsWith("/var/cache/debconf")
        || p.StartsWith("/var/log/") || p.StartsWith("/tmp/") || p.StartsWith("/run/") || p.StartsWith("/proc") || p.StartsWith("/sys") || p.StartsWith("/dev")
        || p.StartsWith("/var/lib/systemd/deb-systemd-helper-masked");

    [Fact]
    public void Installs_in_a_fresh_Debian_12_runs_sandboxed_and_purges_cleanly()
    {
        Sh.RequireRoot();
        Sh.RequireTools("chroot", "setpriv", "unshare", "systemd-analyze");
        var deb = Deb();
        var sw = Stopwatch.StartNew();
        var baseRoot = Sh.Run(Path.Combine(Repo(), "scripts/debian-root.sh"));
        if (baseRoot.Code != 0) Assert.Skip($"no Debian 12 root (scripts/debian-root.sh rc {baseRoot.Code}): {baseRoot.Err.Trim().Split('\n')[^1]}");
        var lower = baseRoot.Out.Trim();
        var tmp = Directory.CreateTempSubdirectory("fshealer-deb-root-").FullName;
        string upper = Path.Combine(tmp, "upper"), work = Path.Combine(tmp, "work"), root = Path.Combine(tmp, "root");
        foreach (var d in new[] { upper, work, root }) Directory.CreateDirectory(d);
        var log = TestContext.Current.TestOutputHelper;
        var mounts = new Stack<string>();
        try
        {
            // this test process already runs in a private mount namespace (scripts/test.sh); the overlay is ours alone
            Sh.Check("mount", "-t", "overlay", "overlay", "-o", $"lowerdir={lower},upperdir={upper},workdir={work}", root);
            mounts.Push(root);
            foreach (var (what, type) in new[] { ("proc", "proc"), ("sys", "sysfs") })
            {
                Sh.Check("mount", "-t", type, what, Path.Combine(root, what));
                mounts.Push(Path.Combine(root, what));
            }
            Sh.Check("mount", "--bind", "/dev", Path.Combine(root, "dev"));
            mounts.Push(Path.Combine(root, "dev"));
            var before = Snapshot(root);
            File.Copy(deb, Path.Combine(root, "tmp", Path.GetFileName(deb)));

            Sh.Result Chroot(params string[] args) => Sh.Run("chroot", [root, .. args]);
            var install = Sh.Run("chroot", root, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "--no-install-recommends", "-o", "Acquire::Retries=0",
                "/tmp/" + Path.GetFileName(deb));
            Assert.True(install.Code == 0, $"apt-get install ./{Path.GetFileName(deb)}: rc {install.Code}\n{install.Out}{install.Err}");
            log?.WriteLine($"installed after {sw.Elapsed.TotalSeconds:F1} s");

            // files, the /usr/sbin link, the service enabled (deb-systemd-helper, no systemd running), the conffile
            Assert.True(File.Exists(Path.Combine(root, "usr/libexec/fshealer/fshealer")));
            Assert.Equal("../libexec/fshealer/fshealer", new FileInfo(Path.Combine(root, "usr/sbin/fshealer")).LinkTarget);
            var wants = Path.Combine(root, "etc/systemd/system/multi-user.target.wants/fshealer.service");
            Assert.True(File.Exists(wants) || new FileInfo(wants).LinkTarget is not null, "fshealer.service was not enabled");
            Assert.Equal("/lib/systemd/system/fshealer.service", new FileInfo(wants).LinkTarget);
            Assert.Contains("/etc/fshealer/fshealer.json", Chroot("dpkg-query", "-W", "-f=${Conffiles}", "fshealer").Out);
            var version = Chroot("/usr/sbin/fshealer", "--version");
            Assert.True(version.Code == 0, version.Out + version.Err);
            var check = Chroot("/usr/sbin/fshealer", "config", "check");
            Assert.True(check.Code == 0, $"the shipped /etc/fshealer/fshealer.json: {check.Out}{check.Err}");
            Assert.Contains("OK", check.Out);

            // the installed units verify against the installed files (the host's systemd-analyze: the minimal root has
            // no systemd; absolute paths are pointed into the root)
            var unitCopy = Directory.CreateDirectory(Path.Combine(tmp, "units")).FullName;
            foreach (var f in Directory.GetFiles(Path.Combine(root, "lib/systemd/system"), "*fshealer*"))
                File.WriteAllText(Path.Combine(unitCopy, Path.GetFileName(f)), File.ReadAllText(f)
                    .Replace("/usr/sbin/fshealer", root + "/usr/sbin/fshealer").Replace("/usr/libexec/fshealer/", root + "/usr/libexec/fshealer/"));
            foreach (var (template, instance) in new[] { ("fshealer@.service", "fshealer@-.service"), ("fshealer-fail@.service", "fshealer-fail@fshealer.service.service") })
                File.Copy(Path.Combine(unitCopy, template), Path.Combine(unitCopy, instance));
            foreach (var unit in new[] { "fshealer.service", "fshealer@-.service", "fshealer-fail@fshealer.service.service", "system-fshealer.slice" })
            {
                var v = Sh.RunIn(unitCopy, "systemd-analyze", "verify", "--man=no", Path.Combine(unitCopy, unit));
                var problems = (v.Out + v.Err).Split('\n').Where(l => l.Contains(unitCopy) || l.Contains("fshealer")).ToArray();
                Assert.True(v.Code == 0 && problems.Length == 0, $"systemd-analyze verify {unit}: rc {v.Code}\n{v.Out}{v.Err}");
            }

            // fshealer run under fshealer.service's restrictions (filtered calls kill: none may be made)
            var unitDir = Path.Combine(root, "lib/systemd/system");
            var daemonBox = UnitSandbox.Parse(File.ReadAllText(Path.Combine(unitDir, "fshealer.service")));
            var work1 = Directory.CreateDirectory(Path.Combine(root, "fshealer-test")).FullName;
            var runArgs = daemonBox.Wrap(["/usr/sbin/fshealer", "run", "--duration", "3", "--state-dir", "/var/lib/fshealer"], work1, deny: "kill", root: root);
            var run = Sh.Run(runArgs[0], runArgs[1..]);
            Assert.True(run.Code == 0, $"fshealer run in the unit's sandbox: rc {run.Code}\n{run.Out}{run.Err}");
            Assert.Contains("watching", run.Out + run.Err);
            Assert.True(File.Exists(Path.Combine(root, "var/lib/fshealer/history.db")), "no history database");

            // the per-mount process under fshealer@.service's (upstream's) restrictions behaves exactly as without them,
            // on an XFS filesystem (a scratch loop XFS bound into the root) and on a non-XFS one
            var mountBox = UnitSandbox.Parse(File.ReadAllText(Path.Combine(unitDir, "fshealer@.service")));
            using var xfs = XfsPoll.XfsPristine.Available ? new XfsPoll.XfsScratch(XfsPoll.XfsPristine.Image) : null;
            var targets = new List<string> { "/" };
            string? bound = null;
            if (xfs is not null)
            {
                bound = Directory.CreateDirectory(Path.Combine(root, "srv/xfs")).FullName;
                Sh.Check("mount", "--bind", xfs.Mount, bound);
                targets.Add("/srv/xfs");
            }
            else log?.WriteLine("no XFS tools: the per-mount process is run on / only");
            try
            {
            foreach (var target in targets)
                foreach (var cmd in new[] { new[] { "/usr/sbin/fshealer", "xfs-healer", "--supported", target }, ["/usr/sbin/fshealer", "xfs-healer", target] })
                {
                    var plain = Chroot(cmd);
                    var boxed = mountBox.Wrap(cmd, work1, deny: "kill", root: root);
                    var sandboxed = Sh.Run(boxed[0], boxed[1..]);
                    log?.WriteLine($"{string.Join(' ', cmd[1..])}: rc {plain.Code} / sandboxed rc {sandboxed.Code}: {(plain.Out + plain.Err).Trim()}");
                    Assert.True(plain.Code == sandboxed.Code && plain.Out == sandboxed.Out && plain.Err == sandboxed.Err,
                        $"{string.Join(' ', cmd)} in fshealer@.service's sandbox: rc {sandboxed.Code} (SIGSYS = 159: a filtered system call)\n{sandboxed.Out}{sandboxed.Err}\nwithout: rc {plain.Code}\n{plain.Out}{plain.Err}");
                }
            }
            finally
            {
                // before the scratch XFS goes: its loop device cannot be detached while the bind mount holds it
                if (bound is not null) { Sh.Run("umount", bound); Directory.Delete(bound); }
            }

            // remove keeps the configuration; purge leaves nothing of the package (nor the daemon's state)
            var remove = Chroot("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "remove", "-y", "fshealer");
            Assert.True(remove.Code == 0, remove.Out + remove.Err);
            Assert.True(File.Exists(Path.Combine(root, "etc/fshealer/fshealer.json")), "remove deleted the conffile");
            Assert.False(File.Exists(Path.Combine(root, "usr/libexec/fshealer/fshealer")));
            var purge = Chroot("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "purge", "-y", "fshealer");
            Assert.True(purge.Code == 0, purge.Out + purge.Err);
            Assert.DoesNotContain("fshealer", Chroot("dpkg-query", "-W", "-f=${Package} ${Status}\n").Out);
            // the dependencies apt installed for it (procps) go the way an administrator removes them
            var autoremove = Chroot("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "autoremove", "--purge", "-y");
            Assert.True(autoremove.Code == 0, autoremove.Out + autoremove.Err);
            Directory.Delete(work1, true);
            File.Delete(Path.Combine(root, "tmp", Path.GetFileName(deb)));
            var after = Snapshot(root);
            var left = after.Except(before).Where(p => !Bookkeeping(p)).Order().ToList();
            var gone = before.Except(after).Where(p => !Bookkeeping(p)).Order().ToList();
            Assert.True(left.Count == 0, "left after purge:\n" + string.Join("\n", left));
            Assert.True(gone.Count == 0, "removed although not the package's:\n" + string.Join("\n", gone));
            log?.WriteLine($"install, run, remove, purge: {sw.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            while (mounts.TryPop(out var m)) Sh.Run("umount", "-R", m);
            Directory.Delete(tmp, true);
        }
    }
}

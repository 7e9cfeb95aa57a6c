using FsHealer.Cli.Commands;
using FsHealer.Mounts.Live;
using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Btrfs.Live;

namespace FsHealer.Scenario.Tests.Btrfs;

/// <summary>CLI and healer behaviour on paths that are not (or no longer) btrfs: clear diagnostics, no exceptions.</summary>
public sealed class BtrfsCliScenarioTests
{
    [Fact]
    public void Status_OnNonBtrfsAndMissingPaths_NamesTheProblem()
    {
        string dir = Directory.CreateTempSubdirectory("fshealer-btrfs-scn-").FullName;
        try
        {
            var err = new StringWriter();
            int rc = BtrfsCommand.Status(dir, new StringWriter(), err);
            // /tmp may itself be btrfs on some hosts; then status works and returns 0/2.
            if (rc == 1) Assert.Contains($"{dir}: not a btrfs filesystem", err.ToString());
            err = new StringWriter();
            Assert.Equal(1, BtrfsCommand.Status(Path.Combine(dir, "nope"), new StringWriter(), err));
            Assert.Contains("nope: open: ENOENT: No such file or directory", err.ToString());
            err = new StringWriter();
            Assert.Equal(1, BtrfsCommand.Scrub(Path.Combine(dir, "nope"), null, false, null, TimeSpan.FromSeconds(1), new StringWriter(), err, CancellationToken.None));
            Assert.Contains("ENOENT", err.ToString());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void CommandTree_ParsesOptions_AndRejectsBadLimit()
    {
        var cmd = BtrfsCommand.Create();
        Assert.Equal(["status", "scrub", "watch", "reset-counters"], cmd.Subcommands.Select(c => c.Name));
        var pr = cmd.Parse(["scrub", "/mnt", "--device", "2", "--readonly", "--limit", "50M"]);
        Assert.Empty(pr.Errors);
        var scrub = cmd.Subcommands.Single(c => c.Name == "scrub");
        Assert.Contains(scrub.Options, o => o.Name == "--limit");
        var stderr = Console.Error;
        var sw = new StringWriter();
        Console.SetError(sw);
        try
        {
            int rc = cmd.Parse(["scrub", "/mnt", "--limit", "fast"]).Invoke();
            Assert.Equal(1, rc);
        }
        finally { Console.SetError(stderr); }
        Assert.Contains("--limit: invalid size \"fast\"", sw.ToString());
        Assert.NotEmpty(cmd.Parse(["scrub"]).Errors);
    }

    [Fact]
    public void Healer_OnNonBtrfs_StartFailsWithDiagnostic()
    {
        string dir = Directory.CreateTempSubdirectory("fshealer-btrfs-scn-").FullName;
        try
        {
            var con = new MemoryConsole();
            using var h = new BtrfsHealer(Path.Combine(dir, "gone"), new BtrfsHealerOptions { StateFile = Path.Combine(dir, "state.json") }, con);
            Assert.False(h.Start());
            Assert.Contains(con.Stderr, l => l.Contains("gone: open: ENOENT", StringComparison.Ordinal));
            Assert.False(File.Exists(Path.Combine(dir, "state.json")));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void StateFile_CorruptFile_FreshBaselineWithWarning_AtomicSaveIs0600()
    {
        string dir = Directory.CreateTempSubdirectory("fshealer-btrfs-scn-").FullName;
        try
        {
            string path = Path.Combine(dir, "sub", "state.json");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, "{garbage");
            var con = new MemoryConsole();
            using (new BtrfsHealer(Path.Combine(dir, "gone"), new BtrfsHealerOptions { StateFile = path }, con)) { }
            Assert.Contains(con.Stderr, l => l.Contains("btrfs state: state file:", StringComparison.Ordinal) && l.Contains("fresh baseline", StringComparison.Ordinal));
            Assert.Null(BtrfsStateFile.Save(path, "{\"version\":1}"));
            Assert.Equal("{\"version\":1}", File.ReadAllText(path));
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
            Assert.Contains("no", BtrfsStateFile.Save(Path.Combine(dir, "no\0pe"), "{}"));
            File.WriteAllText(Path.Combine(dir, "afile"), "");
            Assert.NotNull(BtrfsStateFile.Save(Path.Combine(dir, "afile", "state.json"), "{}"));
        }
        finally { Directory.Delete(dir, true); }
    }
}

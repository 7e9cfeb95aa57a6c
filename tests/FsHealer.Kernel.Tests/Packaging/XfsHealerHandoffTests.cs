using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Packaging;

/// <summary>
/// src/fshealer/native/xfs_healer_handoff.c, the constructor linked into the Native AOT fshealer that hands
/// `fshealer xfs-healer` over to fshealer-xfs-healer before the runtime starts. Here it is linked into a small C
/// program (main prints "in-process" and its arguments) with a fake fshealer-xfs-healer beside it (prints "dropin" and
/// its arguments), so every rule is checked without a 6-minute AOT publish.
/// </summary>
public class XfsHealerHandoffTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fshealer-handoff-").FullName;
    private string Prog => Path.Combine(_dir, "fshealer");

    private void Build(bool withDropin = true)
    {
        Sh.RequireTools("gcc");
        var src = Path.Combine(Repo(), "src", "fshealer", "native", "xfs_healer_handoff.c");
        var main = Path.Combine(_dir, "main.c");
        File.WriteAllText(main, "#include <stdio.h>\nint main(int c, char **v) { printf(\"in-process\"); for (int i = 0; i < c; i++) printf(\" [%s]\", v[i]); printf(\"\\n\"); return 3; }\n");
        var cc = Sh.Run("gcc", "-O2", "-Wall", "-Werror", "-o", Prog, main, src);
        Assert.True(cc.Code == 0, cc.Err);
        if (withDropin)
        {
            var dropin = Path.Combine(_dir, "dropin.c");
            File.WriteAllText(dropin, "#include <stdio.h>\nint main(int c, char **v) { printf(\"dropin\"); for (int i = 0; i < c; i++) printf(\" [%s]\", v[i]); printf(\"\\n\"); return 4; }\n");
            cc = Sh.Run("gcc", "-O2", "-o", Path.Combine(_dir, "fshealer-xfs-healer"), dropin);
            Assert.True(cc.Code == 0, cc.Err);
        }
    }

    private static string Repo()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "fshealer.slnx"))) return d.FullName;
        throw new InvalidOperationException("fshealer.slnx not found");
    }

    private static Sh.Result Exec(string argv0, string file, params string[] args) =>
        Sh.Run("bash", ["-c", "exec -a \"$0\" \"$@\"", argv0, file, .. args]);

    [Fact]
    public void Subcommand_HandsOver_ArgumentsAndArgv0Kept()
    {
        Build();
        var r = Exec("fshealer", Prog, "xfs-healer", "--repair", "/mnt/a b");
        Assert.Equal((4, "dropin [fshealer] [--repair] [/mnt/a b]\n"), (r.Code, r.Out));
    }

    [Fact]
    public void StartedAsXfsHealer_HandsOver_WithTheSameArgv()
    {
        Build();
        var r = Exec("/usr/libexec/xfsprogs/xfs_healer", Prog, "--quiet", "/mnt");
        Assert.Equal((4, "dropin [/usr/libexec/xfsprogs/xfs_healer] [--quiet] [/mnt]\n"), (r.Code, r.Out));
    }

    [Fact]
    public void OtherCommands_StayInProcess()
    {
        Build();
        Assert.Equal("in-process [fshealer] [run] [xfs-healer]\n", Exec("fshealer", Prog, "run", "xfs-healer").Out);
        Assert.Equal("in-process [fshealer]\n", Exec("fshealer", Prog).Out);
        Assert.Equal("in-process [xfs_healer2] [x]\n", Exec("xfs_healer2", Prog, "x").Out);
    }

    [Fact]
    public void NoDropinBeside_OrAskedNotTo_StaysInProcess()
    {
        Build(withDropin: false);
        Assert.Equal("in-process [fshealer] [xfs-healer] [/mnt]\n", Exec("fshealer", Prog, "xfs-healer", "/mnt").Out);
        Build();
        var r = Sh.Run("env", "FSHEALER_XFS_HEALER_INPROCESS=1", Prog, "xfs-healer", "/mnt");
        Assert.Equal($"in-process [{Prog}] [xfs-healer] [/mnt]\n", r.Out);
    }

    [Fact]
    public void DropinLinkedBackToFshealer_NeverLoops()
    {
        Build(withDropin: false);
        File.CreateSymbolicLink(Path.Combine(_dir, "fshealer-xfs-healer"), Prog);
        var r = Exec("fshealer", Prog, "xfs-healer", "/mnt");
        Assert.Equal((3, "in-process [fshealer] [xfs-healer] [/mnt]\n"), (r.Code, r.Out));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

using FsHealer.Model;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;
using FsHealer.Interop;
using FsHealer.Service.Notify.Live;

namespace FsHealer.Scenario.Tests.Notify;

public class HookTests
{
    private static readonly uint Me = Libc.geteuid();

    private static NotifyMessage Msg(EventClass c = EventClass.MetadataSick) => new(NotifyKind.Event, Severity.Error, "subj", "body", DateTimeOffset.UnixEpoch)
    {
        Event = new FsEvent
        {
            Class = c, Severity = Severity.Error, Mount = "/mnt/x y", FsType = "xfs", Device = "/dev/loop9", Inode = 133, Path = "/mnt/x y/f",
            Errno = 117, Message = "inode 133 sick: bmapbtd", Time = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000), CorrelationId = "c-1",
        },
        Mount = "/mnt/x y",
    };

    private static HookDestination Hooks(TempDir d, double timeout = 10) => new(new HookSettings(d.Path, TimeSpan.FromSeconds(timeout))) { RequiredOwner = Me };

    [Fact]
    public void Hooks_are_selected_by_class_and_get_only_the_sanitized_environment()
    {
        using var d = new TempDir();
        var outFile = d.File("env.out");
        d.Script("all-log.sh", $"env | sort > '{outFile}'");
        d.Script("metadatasick-notify.sh", $"echo ran >> '{outFile}.sick'");
        d.Script("ioerror-notify.sh", $"echo ran >> '{outFile}.io'");
        Environment.SetEnvironmentVariable("FSHEALER_TEST_LEAK", "must-not-appear");
        var runs = Hooks(d).Run(Msg());
        Assert.Equal(["all-log.sh", "metadatasick-notify.sh"], runs.Select(r => Path.GetFileName(r.Hook)));
        Assert.All(runs, r => Assert.Equal(0, r.ExitCode));
        Assert.False(File.Exists(outFile + ".io"));
        var env = File.ReadAllLines(outFile).Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("/usr/sbin:/usr/bin:/sbin:/bin", env["PATH"]);
        Assert.Equal("metadata_sick", env["FSHEALER_CLASS"]);   // one spelling; the older file name still selects the hook
        Assert.Equal("error", env["FSHEALER_SEVERITY"]);
        Assert.Equal("/mnt/x y", env["FSHEALER_MOUNT"]);
        Assert.Equal("xfs", env["FSHEALER_FSTYPE"]);
        Assert.Equal("/dev/loop9", env["FSHEALER_DEVICE"]);
        Assert.Equal("133", env["FSHEALER_INODE"]);
        Assert.Equal("/mnt/x y/f", env["FSHEALER_PATH"]);
        Assert.Equal("117", env["FSHEALER_ERRNO"]);
        Assert.Equal("EUCLEAN", env["FSHEALER_ERRNO_NAME"]);
        Assert.Equal("inode 133 sick: bmapbtd", env["FSHEALER_MESSAGE"]);
        Assert.Equal("1800000000", env["FSHEALER_TIME_SECS"]);
        Assert.True(long.Parse(env["FSHEALER_EID"]) > 0);
        Assert.False(env.ContainsKey("FSHEALER_TEST_LEAK"));
        Assert.False(env.ContainsKey("HOME"));
        // Only our variables (plus what sh itself sets: PWD, SHLVL, _).
        Assert.All(env.Keys, k => Assert.True(k.StartsWith("FSHEALER_") || k is "PATH" or "PWD" or "SHLVL" or "_" or "OLDPWD", k));
    }

    [Fact]
    public void Group_or_world_writable_or_foreign_hooks_are_refused_with_a_reason()
    {
        using var d = new TempDir();
        var marker = d.File("ran");
        d.Script("all-gw.sh", $"touch '{marker}.gw'", (UnixFileMode)0b111_111_101);
        d.Script("all-ww.sh", $"touch '{marker}.ww'", (UnixFileMode)0b111_101_111);
        d.Script("all-ok.sh", $"touch '{marker}.ok'");
        File.WriteAllText(d.File("all-noexec"), "x");
        File.SetUnixFileMode(d.File("all-noexec"), (UnixFileMode)0b110_100_100);
        var hooks = Hooks(d);
        var runs = hooks.Run(Msg()).ToDictionary(r => Path.GetFileName(r.Hook));
        Assert.Contains("group-writable", runs["all-gw.sh"].Refused);
        Assert.Contains("world-writable", runs["all-ww.sh"].Refused);
        Assert.Equal("not executable", runs["all-noexec"].Refused);
        Assert.Null(runs["all-ok.sh"].Refused);
        Assert.False(File.Exists(marker + ".gw"));
        Assert.False(File.Exists(marker + ".ww"));
        Assert.True(File.Exists(marker + ".ok"));
        var r = hooks.Send(Msg());
        Assert.False(r.Ok);
        Assert.Contains("all-gw.sh refused: mode 775 is group-writable", r.Detail);

        var foreign = new HookDestination(new HookSettings(d.Path, TimeSpan.FromSeconds(5))) { RequiredOwner = Me + 1 };
        var fr = foreign.Send(Msg());
        Assert.False(fr.Ok);
        Assert.Contains($"owned by uid {Me}", fr.Detail);   // the directory itself is refused first
    }

    [Fact]
    public void Hooks_inherit_no_file_descriptors_beyond_0_1_2()
    {
        using var d = new TempDir();
        var outFile = d.File("fds");
        d.Script("all-fds.sh", $"exec > '{outFile}' 2>&1\nls -l /proc/$$/fd");
        // An fd without O_CLOEXEC, as a P/Invoke open without it would be (fanotify, health monitor).
        using var leakedFd = Libc.Open("/etc/hostname", Libc.O_RDONLY, out _);
        Assert.Equal(0, Libc.SetCloseOnExec(leakedFd, false));
        int leaked = leakedFd.Fd;
        Assert.True(leaked > 2);
        var run = Assert.Single(Hooks(d).Run(Msg()));
        Assert.Equal(0, run.ExitCode);
        leakedFd.Dispose();
        var lines = File.ReadAllLines(outFile);
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join("\n", lines));
        var fds = lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(p => p.Length > 8)
            .Select(p => (Fd: int.Parse(p[8]), Target: p[^1])).ToList();
        Assert.DoesNotContain(fds, f => f.Fd == leaked);
        Assert.DoesNotContain(fds, f => f.Target.Contains("hostname"));
        // Beyond 0-2 only the shell's own descriptor for reading the script may be open (stdin is /dev/null or
        // a pipe, stdout/stderr were redirected to the file by the script).
        Assert.All(fds.Where(f => f.Fd > 2), f => Assert.EndsWith("all-fds.sh", f.Target));
        Assert.Contains(fds, f => f.Fd == 0);
    }

    [Fact]
    public void A_hook_that_hangs_is_killed_after_the_timeout()
    {
        using var d = new TempDir();
        d.Script("all-hang.sh", "sleep 30");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var r = Hooks(d, timeout: 0.5).Send(Msg());
        sw.Stop();
        TestContext.Current.TestOutputHelper?.WriteLine($"hung hook returned after {sw.ElapsedMilliseconds} ms");
        Assert.False(r.Ok);
        Assert.Contains("all-hang.sh killed after 0.5s timeout", r.Detail);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Failing_hook_and_missing_directory()
    {
        using var d = new TempDir();
        d.Script("metadatasick-fail.sh", "echo oops >&2; exit 3");
        var r = Hooks(d).Send(Msg());
        Assert.False(r.Ok);
        Assert.Contains("metadatasick-fail.sh exit 3", r.Detail);
        var none = new HookDestination(new HookSettings(d.File("nope"), TimeSpan.FromSeconds(1))) { RequiredOwner = Me }.Send(Msg());
        Assert.True(none.Ok);
        Assert.Equal("no hook for this class", none.Detail);
    }

    [Fact]
    public void Non_event_messages_use_their_kind_as_class()
    {
        using var d = new TempDir();
        var outFile = d.File("digest");
        d.Script("digest-mail.sh", $"echo \"$FSHEALER_CLASS $FSHEALER_KIND\" > '{outFile}'");
        var r = Hooks(d).Send(new NotifyMessage(NotifyKind.Digest, Severity.Warning, "s", "3 events", DateTimeOffset.UnixEpoch));
        Assert.True(r.Ok, r.Detail);
        Assert.Equal("digest digest", File.ReadAllText(outFile).Trim());
    }
}

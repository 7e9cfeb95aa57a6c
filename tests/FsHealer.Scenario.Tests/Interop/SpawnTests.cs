using FsHealer.Interop;

namespace FsHealer.Scenario.Tests.Interop;

/// <summary>Tools get their arguments byte for byte (a mount point that is not UTF-8 must not reach mount(8) as its
/// U+FFFD twin), run in their own process group, and a timeout kills the whole group.</summary>
public class SpawnTests
{
    [Fact]
    public void Arguments_reach_the_program_byte_for_byte()
    {
        // od prints the bytes of the argument it was given; Process.Start would have sent EF BF BD for the 0xFF
        var r = Spawn.Run("sh", ["-c", "printf %s \"$1\" | od -An -tx1", "sh", "/mnt/x\uDCFF\u00e9\n"], TimeSpan.FromSeconds(10));
        Assert.Null(r.Error);
        Assert.Equal(0, r.Exit);
        Assert.Equal("2f 6d 6e 74 2f 78 ff c3 a9 0a", string.Join(' ', r.Output.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)));
        // and output comes back byte-exactly too
        var echo = Spawn.Run("printf", ["%s", "x\uDCFF"], TimeSpan.FromSeconds(10));
        Assert.Equal("x\uDCFF", echo.Output);
    }

    [Fact]
    public void Exit_status_stderr_environment_and_stdin()
    {
        var r = Spawn.Run("sh", ["-c", "echo out; echo err >&2; read line || echo \"stdin at eof\"; echo \"$FSH_TEST\"; exit 3"], TimeSpan.FromSeconds(10),
            new Dictionary<string, string> { ["FSH_TEST"] = "v\uDCFE" });
        Assert.Equal(3, r.Exit);
        Assert.False(r.TimedOut);
        Assert.Equal("out\nerr\nstdin at eof\nv\uDCFE\n", r.Output);
        var killed = Spawn.Run("sh", ["-c", "kill -TERM $$"], TimeSpan.FromSeconds(10));
        Assert.Equal(128 + 15, killed.Exit);
    }

    [Fact]
    public void A_missing_program_is_an_error_not_an_exception()
    {
        var r = Spawn.Run("fshealer-no-such-tool", [], TimeSpan.FromSeconds(5));
        Assert.Equal(-1, r.Exit);
        Assert.Contains("posix_spawnp: ENOENT", r.Error);
    }

    [Fact]
    public void A_timeout_kills_the_process_group()
    {
        var pidFile = Path.Combine(Path.GetTempPath(), $"fsh-spawn-{Guid.NewGuid():N}");
        try
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            // the shell starts a grandchild and waits: both are in the tool's process group
            var r = Spawn.Run("sh", ["-c", $"sleep 30 & echo $$ > {pidFile}; wait"], TimeSpan.FromMilliseconds(500));
            Assert.True(r.TimedOut);
            Assert.Equal(-1, r.Exit);
            Assert.Contains("process group was killed", r.Error);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
            int pgid = int.Parse(File.ReadAllText(pidFile).Trim());
            for (int i = 0; i < 100 && Spawn.GroupAlive(pgid); i++) Thread.Sleep(20);
            Assert.False(Spawn.GroupAlive(pgid), "the sleep started by the tool survived");
        }
        finally { File.Delete(pidFile); }
    }

    [Fact]
    public void Signals_the_runtime_ignores_are_default_again_in_the_tool()
    {
        // .NET ignores SIGPIPE; a tool that inherited that would not stop on a closed pipe
        var r = Spawn.Run("sh", ["-c", "grep -i '^SigIgn' /proc/self/status"], TimeSpan.FromSeconds(10));
        Assert.Equal(0, r.Exit);
        var mask = Convert.ToUInt64(r.Output.Split(':')[1].Trim(), 16);
        Assert.Equal(0UL, mask & (1UL << (13 - 1))); // SIGPIPE
    }
}

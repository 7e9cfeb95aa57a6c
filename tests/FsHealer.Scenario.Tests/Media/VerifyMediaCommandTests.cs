using FsHealer.Cli.Commands;
using FsHealer.Mounts.Live;

namespace FsHealer.Scenario.Tests.Media;

public class VerifyMediaCommandTests
{
    [Fact]
    public void Create_ParsesAllOptions()
    {
        var cmd = VerifyMediaCommand.Create();
        var r = cmd.Parse(["/mnt", "--device", "log", "--start", "1m", "--end", "2m", "--max-io", "4k", "--rest-us", "10", "--report", "--pinpoint", "--bwlimit", "8m", "--state-dir", "/var/lib/x"]);
        Assert.Empty(r.Errors);
        Assert.Contains(cmd.Options, o => o.Name == "--whole-device");
        Assert.Contains(cmd.Options, o => o.Name == "--fallback");
    }

    [Theory]
    [InlineData("--start", "abc", "non-numeric start argument -- abc")]
    [InlineData("--end", "1q", "non-numeric end argument -- 1q")]
    [InlineData("--max-io", "x", "non-numeric maxio argument -- x")]
    public void NonNumeric_XfsIoMessage_Exit64(string opt, string val, string msg)
    {
        var err = new StringWriter();
        var args = opt switch
        {
            "--start" => new VerifyMediaCommand.Args("/", Start: val),
            "--end" => new VerifyMediaCommand.Args("/", End: val),
            _ => new VerifyMediaCommand.Args("/", MaxIo: val),
        };
        Assert.Equal(64, VerifyMediaCommand.Run(args, new StringWriter(), err, null, default));
        Assert.Equal(msg, err.ToString().Trim());
    }

    [Fact]
    public void UnknownDevice_Exit64()
    {
        var err = new StringWriter();
        Assert.Equal(64, VerifyMediaCommand.Run(new VerifyMediaCommand.Args("/", Device: "foo"), new StringWriter(), err, null, default));
        Assert.Contains("unknown device \"foo\"", err.ToString());
    }

    [Fact]
    public void MissingMount_NamesPathAndErrno()
    {
        var err = new StringWriter();
        string p = $"/tmp/fshealer-no-such-{Guid.NewGuid():N}";
        Assert.Equal(1, VerifyMediaCommand.Run(new VerifyMediaCommand.Args(p), new StringWriter(), err, null, default));
        Assert.Contains($"open({p}): ENOENT", err.ToString());
    }
}

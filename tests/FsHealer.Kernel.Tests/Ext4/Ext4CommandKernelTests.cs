using FsHealer.Cli.Commands;
using System.CommandLine;
using FsHealer.Mounts.Live;

namespace FsHealer.Kernel.Tests.Ext4;

[CollectionDefinition("ext4-cli", DisableParallelization = true)]
public class Ext4CliCollection;

[Collection("ext4-cli")]
public class Ext4CommandKernelTests
{
    [Fact]
    public async Task Ext4Watch_PrintsEventLine_AndHealsWithOfflineRepair()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop(["clri /d1/f2"]);
        var cmd = Ext4Command.Create();
        var oldOut = Console.Out;
        var sw = new StringWriter();
        int rc;
        try
        {
            Console.SetOut(TextWriter.Synchronized(sw));
            var t = Task.Run(() => cmd.Parse(["--duration", "4", "--policy", "offline-repair", "--state-dir", Path.Combine(fs.Dir, "state"), fs.Mnt]).Invoke());
            await Task.Delay(500, TestContext.Current.CancellationToken);
            fs.CatInChild("d1/f2");
            rc = await t;
        }
        finally { Console.SetOut(oldOut); }
        string text = sw.ToString();
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        Assert.Equal(0, rc);
        Assert.Contains($"{fs.Mnt}: ext4 filesystem attached", text);
        // the error, seen live (FAN_FS_ERROR) or, when it happened before the watch began, from the sysfs counters
        Assert.Matches(System.Text.RegularExpressions.Regex.Escape(fs.Mnt) + @": (EUCLEAN \(Structure needs cleaning\) x\d+ on inode \d+ gen \d+ path "
            + System.Text.RegularExpressions.Regex.Escape(fs.Mnt + "/d1") + @"|\d+ error\(s\) not reported by fanotify; last EUCLEAN)", text);
        Assert.Contains($"{fs.Mnt}: heal OfflineRepair: repaired, verified clean, mounted again", text);
        Assert.True(fs.IsMounted());
        Assert.Equal("0", fs.Sysfs("errors_count"));
    }

    [Fact]
    public void Ext4Watch_UnknownPolicy_IsAUsageError()
    {
        Assert.Equal(64, Ext4Command.Create().Parse(["--policy", "sometimes", "/"]).Invoke());   // EX_USAGE
    }
}

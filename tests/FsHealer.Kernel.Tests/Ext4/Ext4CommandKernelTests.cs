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
            var t = Task.Run(() => cmd.Parse(["--duration", "3", "--policy", "offline-repair", fs.Mnt]).Invoke());
            await Task.Delay(500, TestContext.Current.CancellationToken);
            fs.CatInChild("d1/f2");
            rc = await t;
        }
        finally { Console.SetOut(oldOut); }
        string text = sw.ToString();
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        Assert.Equal(0, rc);
        Assert.Contains($"watching {fs.Mnt}", text);
        Assert.Matches(@"EUCLEAN \(Structure needs cleaning\) x\d+ on inode \d+ gen \d+ path " + System.Text.RegularExpressions.Regex.Escape(fs.Mnt + "/d1"), text);
        Assert.Contains($"heal {fs.Mnt}: OfflineRepair succeeded", text);
        Assert.True(fs.IsMounted());
        Assert.Equal("0", fs.Sysfs("errors_count"));
    }

    [Fact]
    public void Ext4Watch_UnknownPolicy_IsAUsageError()
    {
        Assert.Equal(2, Ext4Command.Run(["/"], false, 0.1, "sometimes"));
    }
}

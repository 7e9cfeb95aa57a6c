namespace FsHealer.Core.Tests.Cli;

/// <summary>The CLI builds only the named command; its table's names must be the commands' own names.</summary>
public class CommandTableTests
{
    [Fact]
    public void Every_table_name_is_the_name_of_the_command_it_creates()
    {
        Assert.Equal(16, FsHealer.Cli.Cli.Commands.Length);
        foreach (var (name, create) in FsHealer.Cli.Cli.Commands)
            Assert.Equal(name, create().Name);
        Assert.Equal(FsHealer.Cli.Cli.Commands.Length, FsHealer.Cli.Cli.Commands.Select(c => c.Name).Distinct().Count());
    }

    [Fact]
    public void Help_lists_every_command()
    {
        var o = new StringWriter();
        var old = Console.Out;
        Console.SetOut(o);
        try { Assert.Equal(0, FsHealer.Cli.Cli.Run(["--help"])); }
        finally { Console.SetOut(old); }
        foreach (var (name, _) in FsHealer.Cli.Cli.Commands) Assert.Contains($"  {name}", o.ToString());
    }
}

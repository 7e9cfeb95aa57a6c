namespace FsHealer.Cli;

public static partial class Cli
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("fshealer: not yet wired");
        return 1;
    }
}

namespace FsHealer.Scenario.Tests.Notify;

internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("fshealer-notify-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Script(string name, string body, UnixFileMode mode = (UnixFileMode)0b111_101_101)
    {
        var p = File(name);
        System.IO.File.WriteAllText(p, "#!/bin/sh\n" + body + "\n");
        System.IO.File.SetUnixFileMode(p, mode);
        return p;
    }

    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

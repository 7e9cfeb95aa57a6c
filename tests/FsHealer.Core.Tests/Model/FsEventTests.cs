using FsHealer.Model;

namespace FsHealer.Core.Tests.Model;

public class FsEventTests
{
    private static FsEvent Ev(string mount, string message) =>
        new() { Class = EventClass.Diagnostic, Severity = Severity.Info, Mount = mount, FsType = "xfs", Message = message };

    [Theory]
    [InlineData("/srv", "EIO", "/srv: EIO")]
    [InlineData("/srv", "/srv: offline repair Repaired", "/srv: offline repair Repaired")]
    [InlineData("/srv", "/srv ino 131 gen 0x5 directory: sick", "/srv ino 131 gen 0x5 directory: sick")]
    [InlineData("/srv", "/srvdata: x", "/srv: /srvdata: x")]   // a longer path is not the same mount
    [InlineData("", "daemon started", "daemon started")]
    public void Headline_NamesTheMountOnce(string mount, string message, string expected) =>
        Assert.Equal(expected, Ev(mount, message).Headline);
}

using System.Text;
using FsHealer.Kmsg;
using FsHealer.Interop;

namespace FsHealer.Kernel.Tests.Kmsg;

public class KmsgReaderKernelTests
{
    private static void Inject(string line)
    {
        // root may write to /dev/kmsg: the line becomes a kernel log record (level from the "<N>" prefix)
        using var f = new FileStream("/dev/kmsg", FileMode.Open, FileAccess.Write);
        f.Write(Encoding.UTF8.GetBytes(line + "\n"));
    }

    [Fact]
    public void Reader_StartsAtTheEnd_SeesNewRecords_AndClassifiesThem()
    {
        if (Libc.geteuid() != 0) Assert.Skip("needs root to write /dev/kmsg");
        var marker = $"fshealer-kmsg-test-{Guid.NewGuid():N}";
        Inject($"<4>XFS (loopfake{marker[^6..]}): Metadata corruption detected at {marker}");
        using var reader = KmsgReader.Open(out var diag);
        Assert.True(reader is not null, diag);
        // the record written before Open is not replayed
        Assert.DoesNotContain(reader.ReadAvailable(), r => r.Record?.Message.Contains(marker) == true);

        Inject($"<3>XFS (loopfake{marker[^6..]}): Shutting down filesystem {marker}");
        var got = reader.ReadAvailable().Where(r => r.Record?.Message.Contains(marker) == true).ToList();
        var rec = Assert.Single(got).Record!;
        Assert.Equal(3, rec.Level);
        var ev = KmsgClassifier.Classify(rec.Message);
        Assert.NotNull(ev);
        Assert.Equal(("xfs", $"loopfake{marker[^6..]}", KernelLogKind.Shutdown), (ev.Value.Filesystem, ev.Value.Device, ev.Value.Kind));
        // nothing pending any more: a non-blocking read says so without error
        var more = reader.Read();
        Assert.True(more.Record is not null || more.WouldBlock, more.Diagnostic);
    }
}

using FsHealer.Ext4;
using FsHealer.Fanotify;

namespace FsHealer.Scenario.Tests.Ext4;

public class FsErrorPipelineScenarioTests
{
    /// <summary>Decoder → guard → reconciler over a simulated event stream with an overflow in the middle.</summary>
    [Fact]
    public void OverflowThenReconcile_ReportsExactlyTheLostErrors()
    {
        var id = new FsId(0x770018a1, 0x097c8fa1);
        var rec = new Ext4ErrorReconciler(id, "loop9");
        Assert.Null(rec.Reconcile(Ext4SysfsState.Parse("loop9", Attrs(0))));
        // as read() returns them on 6.18: sb-level (56 bytes), inode with error_count 2 (64 bytes), then an overflow
        var buf = Convert.FromHexString(
            "38000000030018000080000000000000FFFFFFFF0A000000" + "01001400A1180077A18F7C0900000000FF000000" + "05000C007500000001000000" +
            "40000000030018000080000000000000FFFFFFFF0B000000" + "01001C00A1180077A18F7C0908000000010000000C000000A2486C0E" + "05000C007500000002000000" +
            "18000000030018000040000000000000FFFFFFFF00000000");
        var res = FsErrorDecoder.Decode(buf);
        Assert.Empty(res.Diagnostics);
        Assert.Equal([null, 12u, null], res.Events.Select(e => e.Inode));
        foreach (var e in res.Events) rec.Observe(e);
        Assert.Contains(res.Events, e => e.Kind == FsErrorKind.Overflow);
        var missed = rec.Reconcile(Ext4SysfsState.Parse("loop9", Attrs(10)))!;
        Assert.Equal(7u, missed.ErrorCount); // 10 counted, 1 + 2 reported
        Assert.Equal(FsErrorKind.Missed, missed.Kind);
    }

    private static Dictionary<string, string> Attrs(ulong n) => Ext4SysfsState.AttributeNames.ToDictionary(a => a, a =>
        a == "errors_count" ? n.ToString() : a.EndsWith("_time") ? (n == 0 ? "0" : "1795284995") : a.EndsWith("_func") ? "ext4_lookup" : "5");
}

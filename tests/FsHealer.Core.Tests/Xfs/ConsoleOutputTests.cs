using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Text;

namespace FsHealer.Core.Tests.Xfs;

/// <summary>A byte sink that records each write (what reached the stream, and in how many system calls).</summary>
public sealed class RecordingSink(List<(string Stream, byte[] Bytes)> log, string name) : IByteSink
{
    public void Write(ReadOnlySpan<byte> data) => log.Add((name, data.ToArray()));
}

public class ConsoleOutputTests
{
    private static byte[] Enc(string s)
    {
        var buf = new byte[LogLineEncoder.MaxBytes(s.Length)];
        return buf.AsSpan(0, LogLineEncoder.Encode(s, buf)).ToArray();
    }

    [Fact]
    public void Encoder_ValidText_IsUtf8()
    {
        foreach (var s in new[] { "/mnt: monitoring started", "/mnt/é/ß/日本/😀 x", "", "a\u00A0b\u07FF\u0800\uFFFD" })
            Assert.Equal(Encoding.UTF8.GetBytes(s), Enc(s));
    }

    [Fact]
    public void Encoder_LoneSurrogatesFromSurrogateEscape_BecomeTheOriginalBytes()
    {
        // "/mnt/\xff\xfe-x\x80": bytes that are not UTF-8, decoded the surrogateescape way
        Assert.Equal(new byte[] { (byte)'/', (byte)'m', 0xFF, 0xFE, (byte)'-', 0x80 }, Enc("/m\uDCFF\uDCFE-\uDC80"));
        // a valid pair followed by an escaped byte
        Assert.Equal(Encoding.UTF8.GetBytes("😀").Concat(new byte[] { 0xC3 }).ToArray(), Enc("😀\uDCC3"));
        // surrogates that surrogateescape never produces: the replacement character, as .NET's UTF-8 encoder
        Assert.Equal(Encoding.UTF8.GetBytes("\uFFFDx\uFFFDx"), Enc("\uD800x\uDC10x"));
    }

    [Fact]
    public void Encoder_ControlCharacters_AreEscaped()
    {
        Assert.Equal("/mnt/a\\nb: sick"u8.ToArray(), Enc("/mnt/a\nb: sick"));
        Assert.Equal("x\\x1b[31m\\t\\r\\x00\\x7f"u8.ToArray(), Enc("x\u001b[31m\t\r\0\u007f"));
    }

    [Fact]
    public void Encoder_Property_RoundTripsEveryByteString()
    {
        // any byte string decoded the surrogateescape way (valid UTF-8 kept, every other byte → U+DC80+b) encodes back
        // to the same bytes, control characters excepted (escaped)
        Prop.ForAll(ArbMap.Default.GeneratorFor<byte[]>().ToArbitrary(), bytes =>
        {
            var clean = bytes.Where(b => b >= 0x20 && b != 0x7F).ToArray();
            var s = SurrogateEscapeDecode(clean);
            return Enc(s).AsSpan().SequenceEqual(clean);
        }).QuickCheckThrowOnFailure();
    }

    private static string SurrogateEscapeDecode(byte[] b)
    {
        var sb = new StringBuilder();
        int i = 0;
        while (i < b.Length)
        {
            var status = System.Text.Rune.DecodeFromUtf8(b.AsSpan(i), out var rune, out int used);
            if (status == System.Buffers.OperationStatus.Done) { sb.Append(rune.ToString()); i += used; }
            else { sb.Append((char)(0xDC00 + b[i])); i++; }
        }
        return sb.ToString();
    }

    private static (BufferedHealerConsole Console, List<(string Stream, byte[] Bytes)> Log) Console(bool lineBuffered = false, int capacity = 32 * 1024)
    {
        var log = new List<(string, byte[])>();
        return (new BufferedHealerConsole(new RecordingSink(log, "out"), new RecordingSink(log, "err"), lineBuffered, capacity), log);
    }

    private static string Text(IEnumerable<(string Stream, byte[] Bytes)> log, string stream) =>
        Encoding.UTF8.GetString(log.Where(w => w.Stream == stream).SelectMany(w => w.Bytes).ToArray());

    [Fact]
    public void Buffered_ManyLines_OneWriteOnFlush()
    {
        var (c, log) = Console();
        for (int i = 0; i < 100; i++) c.Out($"/mnt line {i}");
        Assert.Empty(log);                          // nothing written yet: no system call per line
        c.Flush();
        Assert.Single(log);
        Assert.Equal(string.Concat(Enumerable.Range(0, 100).Select(i => $"/mnt line {i}\n")), Text(log, "out"));
        c.Flush();
        Assert.Single(log);                         // nothing more to write
    }

    [Fact]
    public void Buffered_StderrLine_FlushesStdoutFirst_SoTheStreamsInterleaveAsLineFlushedC()
    {
        var (c, log) = Console();
        c.Out("a"); c.Out("b"); c.Err("E1"); c.Out("c"); c.Err("E2"); c.Flush();
        Assert.Equal([("out", "a\nb\n"), ("err", "E1\n"), ("out", "c\n"), ("err", "E2\n")],
            log.Select(w => (w.Stream, Encoding.UTF8.GetString(w.Bytes))).ToArray());
    }

    [Fact]
    public void Buffered_Terminal_WritesEveryLine()
    {
        var (c, log) = Console(lineBuffered: true);
        c.Out("a"); c.Out("b");
        Assert.Equal(2, log.Count);
        Assert.Equal("a\nb\n", Text(log, "out"));
    }

    [Fact]
    public void Buffered_FullBuffer_IsWrittenAndLinesStayWholeAndInOrder()
    {
        var (c, log) = Console(capacity: 256);
        var lines = Enumerable.Range(0, 1000).Select(i => $"/mnt agno 0x{i:x} bnobt: sick").ToArray();
        foreach (var l in lines) c.Out(l);
        c.Flush();
        Assert.True(log.Count > 100);               // many buffer-fulls
        Assert.All(log, w => Assert.True(w.Bytes.Length <= 256));
        Assert.Equal(string.Concat(lines.Select(l => l + "\n")), Text(log, "out"));
    }

    [Fact]
    public void Buffered_LinesLongerThanTheBuffer_AndSurrogatePairsAtTheSplit_ComeOutIntact()
    {
        var (c, log) = Console(capacity: 64);
        var longLine = string.Concat(Enumerable.Repeat("😀é\uDCFFx", 200));
        c.Out(longLine);
        c.Err(longLine.AsSpan(0, 997));
        c.Out("tail");
        c.Flush();
        var outBytes = log.Where(w => w.Stream == "out").SelectMany(w => w.Bytes).ToArray();
        Assert.Equal(Enc(longLine).Concat("\ntail\n"u8.ToArray()), outBytes);
        Assert.Equal(Enc(longLine[..997]).Concat("\n"u8.ToArray()), log.Where(w => w.Stream == "err").SelectMany(w => w.Bytes));
    }

    [Fact]
    public void Buffered_ConcurrentWriters_NeverInterleaveWithinALine()
    {
        var (c, log) = Console(capacity: 1024);
        Parallel.For(0, 8, t => { for (int i = 0; i < 2000; i++) c.Out($"writer {t} line {i} " + new string('x', i % 50)); });
        c.Flush();
        var lines = Text(log, "out").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(16000, lines.Length);
        Assert.All(lines, l => Assert.Matches(@"^writer \d line \d+ x*$", l));
        for (int t = 0; t < 8; t++)   // each writer's lines in its order
            Assert.Equal(Enumerable.Range(0, 2000).ToArray(),
                lines.Where(l => l.StartsWith($"writer {t} ")).Select(l => int.Parse(l.Split(' ')[3])).ToArray());
    }

    [Fact]
    public void Queue_AddRange_TakesBatches_InOrder_AndBlocksWhenFull()
    {
        var q = new BoundedQueue<int>(10);
        var (blocked, depth) = q.AddRange([1, 2, 3]);
        Assert.False(blocked);
        Assert.Equal(3, depth);
        var batch = new int[8];
        Assert.Equal(3, q.TryTake(batch));
        Assert.Equal([1, 2, 3], batch[..3]);
        Assert.Equal(0, q.TryTake(batch));          // empty: no wait
        // a batch larger than the ring goes in as the consumer makes room, in order, wrapping around
        var taken = new List<int>();
        var consumer = Task.Run(() =>
        {
            var b = new int[4];
            int n;
            while ((n = q.Take(b)) > 0) taken.AddRange(b[..n]);
        });
        var (blocked2, _) = q.AddRange(Enumerable.Range(100, 1000).ToArray());
        q.Complete();
        Assert.True(consumer.Wait(TimeSpan.FromSeconds(30)));
        Assert.Equal(Enumerable.Range(100, 1000), taken);
        Assert.True(blocked2);
        Assert.Equal((false, -1), q.AddRange([1]));   // completed
    }
}

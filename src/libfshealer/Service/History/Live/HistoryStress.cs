using FsHealer.Model;

namespace FsHealer.Service.History.Live;

/// <summary>Test support: writes fixed-size batches of events forever (or <c>batches</c> times) into
/// <c>stateDir</c>/history.db, printing "committed N" after each commit, so a test can kill the process at random
/// points and check the database.</summary>
public static class HistoryStress
{
    public static int Run(string stateDir, int batchSize, long batches, TextWriter stdout, TextWriter stderr)
    {
        using var store = HistoryStore.Open(stateDir, out var error);
        if (store is null) { stderr.WriteLine($"fshealer: {error}"); return 1; }
        long start = store.Count() / Math.Max(1, batchSize);
        var batch = new List<FsEvent>(batchSize);
        for (long b = start; batches <= 0 || b < start + batches; b++)
        {
            batch.Clear();
            for (int i = 0; i < batchSize; i++)
                batch.Add(new FsEvent
                {
                    Class = EventClass.IoError, Severity = Severity.Error, Mount = "/stress", FsType = "ext4", Device = "stress0",
                    Inode = (ulong)i, Message = $"stress batch {b} event {i}", CorrelationId = $"b{b}",
                });
            store.Append(batch);
            stdout.WriteLine($"committed {(b + 1) * batchSize}");
            stdout.Flush();
        }
        return 0;
    }
}

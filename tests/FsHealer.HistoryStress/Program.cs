using System.Globalization;
using FsHealer.Service.History.Live;

if (args.Length < 2 || !int.TryParse(args[1], CultureInfo.InvariantCulture, out int batchSize) || batchSize <= 0)
{
    Console.Error.WriteLine("usage: FsHealer.HistoryStress STATE_DIR BATCH_SIZE [BATCHES]");
    return 2;
}
long batches = args.Length > 2 ? long.Parse(args[2], CultureInfo.InvariantCulture) : 0;
return HistoryStress.Run(args[0], batchSize, batches, Console.Out, Console.Error);

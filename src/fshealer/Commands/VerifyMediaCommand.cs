using System.CommandLine;
using FsHealer.Media;
using FsHealer.Model;
using FsHealer.Text;
using FsHealer.Interop;
using FsHealer.Media.Live;

namespace FsHealer.Cli.Commands;

/// <summary>
/// `fshealer verify-media MOUNTPOINT [--device data|log|rt] [--start B] [--end B] [--max-io B] [--rest-us N] [--report]`:
/// on kernels with XFS_IOC_VERIFY_MEDIA (probe start=1,end=0) it behaves like `xfs_io -x -c verifymedia`; anywhere
/// else it runs a throttled O_DIRECT read scan of the filesystem's block device (allocated space per GETFSMAP),
/// narrows failures to the sector and names the files and metadata they hit.
/// </summary>
public static class VerifyMediaCommand
{
    public static Command Create()
    {
        var mount = new Argument<string>("mountpoint") { Description = "Mount point of the filesystem to verify" };
        var device = new Option<string>("--device") { Description = "data (default), log or rt (XFS ioctl path only)", DefaultValueFactory = _ => "data" };
        var start = new Option<string?>("--start") { Description = "First byte (inclusive; suffixes k/m/g/t allowed; rounded down to 512)" };
        var end = new Option<string?>("--end") { Description = "Last byte (exclusive; rounded up to 512); default: end of device" };
        var maxIo = new Option<string?>("--max-io") { Description = "Largest read in bytes (default 1 MiB)" };
        var rest = new Option<uint>("--rest-us") { Description = "Microseconds to sleep between reads" };
        var report = new Option<bool>("--report") { Description = "Report errors as health events (media error, data lost)" };
        var fallback = new Option<bool>("--fallback") { Description = "Use the read scan even if the kernel has XFS_IOC_VERIFY_MEDIA" };
        var bw = new Option<string?>("--speed-limit") { Description = "Read scan bandwidth limit, bytes/s (e.g. 50M), 0 = unlimited", HelpName = "SIZE" };
        var pinpoint = new Option<bool>("--pinpoint") { Description = "Ioctl path: narrow each failed read to the 512-byte sector" };
        var whole = new Option<bool>("--whole-device") { Description = "Read scan: also read free space" };
        var state = new Option<string?>("--state-dir") { Description = "Read scan: directory for the resume checkpoint (resumes an interrupted scan)" };
        var cmd = new Command("verify-media", "Verify the storage media under a filesystem and name the files that bad sectors hurt");
        cmd.Arguments.Add(mount);
        foreach (var o in new Option[] { device, start, end, maxIo, rest, report, fallback, bw, whole, state, pinpoint }) cmd.Options.Add(o);
        var bwOld = CliOptions.HiddenAlias(cmd, new Option<string?>("--bwlimit"));
        cmd.SetAction(pr =>
        {
            using var cts = new CancellationTokenSource();
            ConsoleCancelEventHandler h = (_, e) => { e.Cancel = true; cts.Cancel(); };
            Console.CancelKeyPress += h;
            try
            {
                return Run(new Args(pr.GetValue(mount)!, pr.GetValue(device) ?? "data", pr.GetValue(start), pr.GetValue(end), pr.GetValue(maxIo),
                    pr.GetValue(rest), pr.GetValue(report), pr.GetValue(fallback), CliOptions.Get(pr, bw, bwOld), pr.GetValue(whole), pr.GetValue(state), pr.GetValue(pinpoint)),
                    Console.Out, Console.Error, null, cts.Token);
            }
            finally { Console.CancelKeyPress -= h; }
        });
        return cmd;
    }

    public sealed record Args(string Mount, string Device = "data", string? Start = null, string? End = null, string? MaxIo = null, uint RestUs = 0,
        bool Report = false, bool Fallback = false, string? BwLimit = null, bool WholeDevice = false, string? StateDir = null, bool Pinpoint = false);

    private static readonly Dictionary<string, XfsVerifyDevice> Devices = new()
    {
        ["data"] = XfsVerifyDevice.Data, ["log"] = XfsVerifyDevice.Log, ["rt"] = XfsVerifyDevice.Rt,
    };

    public static int Run(Args a, TextWriter stdout, TextWriter stderr, IEventSink? sink, CancellationToken ct)
    {
        void Out(string s) { stdout.WriteLine(s); stdout.Flush(); }
        void Err(string s) { stderr.WriteLine(s); stderr.Flush(); }
        if (!Devices.TryGetValue(a.Device, out var dev)) { Err($"fshealer verify-media: unknown device \"{a.Device}\" (data, log, rt)"); return ExitCodes.Usage; }
        ulong? Num(string? s, string what, out bool bad)
        {
            bad = false;
            if (s is null) return null;
            var v = VerifyMediaTool.ParseNumber(s);
            if (v is null) { Err($"non-numeric {what} argument -- {s}"); bad = true; }
            return v;
        }
        ulong? startB = Num(a.Start, "start", out bool b1), endB = Num(a.End, "end", out bool b2), maxIo = Num(a.MaxIo, "maxio", out bool b3);
        ulong? bw = null;
        bool b4 = false;
        if (a.BwLimit is { } bws)
        {
            if (FsHealer.Text.Units.TryParseSize(bws, out var bwv, out var bwErr)) bw = bwv;
            else { Err($"fshealer verify-media: --speed-limit: {bwErr}"); b4 = true; }
        }
        if (b1 || b2 || b3 || b4) return ExitCodes.Usage;
        if (maxIo > uint.MaxValue) { Err($"fshealer verify-media: --max-io {a.MaxIo} is too large"); return ExitCodes.Usage; }

        string mount = Path.TrimEndingDirectorySeparator(Path.GetFullPath(a.Mount));
        if (mount.Length == 0) mount = "/";
        using var fd = Libc.Open(mount, Libc.O_RDONLY | Libc.O_DIRECTORY, out int oerr);
        if (fd.IsInvalid) { Err($"fshealer verify-media: open({mount}): {Errno.Name(oerr)}: {Errno.Message(oerr)}"); return 1; }

        var ioctl = new XfsVerifyMedia(fd);
        int probe = a.Fallback ? -1 : VerifyMediaTool.Probe(ioctl);
        if (probe == 0)
        {
            var r = VerifyMediaTool.Run(ioctl, new VerifyMediaOptions
            {
                Device = dev, Report = a.Report, StartBytes = startB ?? 0, EndBytes = endB, MaxIo = (uint)(maxIo ?? 0), RestUs = a.RestUs, Pinpoint = a.Pinpoint,
            }, mount, Out, Err, ct: ct);
            return r.ExitCode;
        }
        if (dev != XfsVerifyDevice.Data) { Err($"fshealer verify-media: {mount}: the read scan only covers the data device (--device {a.Device} needs XFS_IOC_VERIFY_MEDIA)"); return 1; }
        if (probe > 0) Err($"fshealer verify-media: {mount}: kernel has no XFS_IOC_VERIFY_MEDIA ({Errno.Name(probe)}); reading the block device instead");

        var options = new MediaScanOptions
        {
            ChunkBytes = maxIo is > 0 ? (int)Math.Min(maxIo.Value, 64 << 20) : 1 << 20,
            BytesPerSecond = (long)Math.Min(bw ?? 0, long.MaxValue),
            RestBetweenReads = TimeSpan.FromTicks(a.RestUs * 10L),
            Limit = startB is null && endB is null ? null : new ByteRange((long)((startB ?? 0) / 512 * 512), (long)Math.Min(long.MaxValue, endB is { } e ? (e + 511) / 512 * 512 : long.MaxValue) - (long)((startB ?? 0) / 512 * 512)),
        };
        bool tty = !Console.IsErrorRedirected && ReferenceEquals(stderr, Console.Error);
        var report = MediaScan.Run(new MediaScanRequest { Mount = mount, Options = options, StateDir = a.StateDir, WholeDevice = a.WholeDevice, Events = sink },
            p => { if (tty) { stderr.Write("\r" + p.Format() + "   "); stderr.Flush(); } else Err(p.Format()); }, out var error, ct);
        if (tty) Err("");
        if (report is null) { Err($"fshealer verify-media: {error}"); return 1; }
        var res = report.Result;
        if (report.ResumedFrom > 0) Err($"resumed at byte {report.ResumedFrom}");
        foreach (var bad in res.Bad)
            Err(VerifyMediaTool.FormatError(new VerifyMediaError(XfsVerifyDevice.Data, (ulong)bad.Offset, (ulong)bad.Length, bad.Errno)));
        foreach (var o in report.Owners)
            Err(o.IsFile ? $"{report.Mount}: bad sectors at offset {o.Range.Offset} hit {o.Path ?? $"ino {o.Inode}"} pos {o.FileOffset} len {o.Length}"
                         : $"{report.Mount}: bad sectors at offset {o.Range.Offset} hit {o.Metadata}");
        if (a.Report) foreach (var ev in report.Events) Out(ev.Message);
        foreach (var line in VerifyMediaTool.FormatReport("verified", (ulong)res.ScannedBytes, (ulong)res.TotalBytes, 0, (int)Math.Min(int.MaxValue, res.Reads), res.Elapsed)) Out(line);
        Out($"{report.Device}: {(report.AllocatedOnly ? "allocated space" : "whole device")}, {res.ScannedBytes} bytes read at {res.MiBPerSecond:0.0} MiB/s, {res.Bad.Count} bad range{(res.Bad.Count == 1 ? "" : "s")}{(res.Outcome == MediaScanOutcome.Completed ? "" : $", stopped: {res.StopReason} (next offset {res.NextOffset})")}");
        return res.Outcome != MediaScanOutcome.Completed ? 130 : res.Bad.Count > 0 ? 1 : 0;
    }
}

using System.CommandLine;
using System.Text.Json;
using FsHealer.Model;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;
using FsHealer.Service.Notify.Live;

namespace FsHealer.Cli.Commands;

/// <summary>
/// <c>fshealer notify test [--config FILE]</c>: sends one test message to every configured destination (hooks
/// directory, sendmail, webhooks) and reports the result per destination. Exit 0 when all succeeded, 1 when any
/// failed (or none is configured), 78 (EX_CONFIG) for a configuration error.
/// </summary>
public static class NotifyCommand
{
    public const string DefaultConfig = "/etc/fshealer/fshealer.json";

    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = $"Configuration file (default {DefaultConfig} if it exists)" };
        var test = new Command("test", "Send a test message to every configured notification destination");
        test.Options.Add(config);
        test.SetAction(pr => Test(pr.GetValue(config), Console.Out, Console.Error));
        var cmd = new Command("notify", "Notification destinations (hooks, email, webhooks)");
        cmd.Subcommands.Add(test);
        return cmd;
    }

    /// <summary>The "notify" section of a configuration file, validated with the whole file (every error, with line
    /// and column, goes to <paramref name="errors"/>).</summary>
    public static NotifySettings? Load(string? path, List<string> errors)
    {
        var r = FsHealer.Config.Live.ConfigFile.LoadOrDefault(path);
        if (!r.Ok) { errors.AddRange(r.Errors.Select(e => e.ToString())); return null; }
        return r.Config!.Notify;
    }

    public static int Test(string? configPath, TextWriter stdout, TextWriter stderr, IReadOnlyList<INotifyDestination>? destinations = null)
    {
        var errors = new List<string>();
        if (destinations is null)
        {
            var settings = Load(configPath, errors);
            foreach (var e in errors) stderr.WriteLine($"fshealer: {e}");
            if (settings is null) return ExitCodes.Config;
            destinations = NotifyDestinations.Create(settings, l => stderr.WriteLine($"fshealer: {l}"), version: Cli.Version);
        }
        if (destinations.Count == 0) { stdout.WriteLine("no notification destinations are configured"); return 1; }
        var now = DateTimeOffset.UtcNow;
        var host = Environment.MachineName;
        var ev = new FsEvent
        {
            Class = EventClass.Diagnostic, Severity = Severity.Notice, Mount = "/", FsType = "test", Time = now,
            Message = $"fshealer notification test from {host}", CorrelationId = "test",
        };
        var msg = new NotifyMessage(NotifyKind.Test, Severity.Notice, $"[fshealer] {host}: notification test",
            $"This is a test message from fshealer {Cli.Version} on {host} ({FsHealer.Text.TimeFormat.Utc(now)}). If you read it, this destination works.\n", now) { Event = ev, Mount = "/" };
        int failed = 0;
        foreach (var d in destinations)
        {
            DeliveryResult r;
            try { r = d.Send(msg); }
            catch (Exception ex) { r = DeliveryResult.Failure(ex.Message); }
            stdout.WriteLine($"{(r.Ok ? "ok    " : "FAILED")} {d.Name}: {r.Detail}");
            if (!r.Ok) failed++;
            (d as IDisposable)?.Dispose();
        }
        return failed == 0 ? 0 : 1;
    }
}

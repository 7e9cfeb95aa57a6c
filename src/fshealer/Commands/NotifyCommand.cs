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
/// failed, 2 for a configuration error.
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

    /// <summary>Reads the "notify" section of a configuration file (JSON with comments).</summary>
    public static NotifySettings? Load(string? path, List<string> errors)
    {
        path ??= File.Exists(DefaultConfig) ? DefaultConfig : null;
        if (path is null) return NotifySettings.Parse(null, errors, Environment.MachineName);
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { errors.Add($"{path}: {ex.Message}"); return null; }
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) { errors.Add($"{path}: the top level must be a JSON object"); return null; }
            JsonElement? section = doc.RootElement.TryGetProperty("notify", out var n) ? n.Clone() : null;
            var s = NotifySettings.Parse(section, errors, Environment.MachineName);
            for (int i = 0; i < errors.Count; i++) errors[i] = $"{path}: {errors[i]}";
            return s;
        }
        catch (JsonException ex) { errors.Add($"{path}: line {ex.LineNumber + 1}, column {ex.BytePositionInLine + 1}: {ex.Message}"); return null; }
    }

    public static int Test(string? configPath, TextWriter stdout, TextWriter stderr, IReadOnlyList<INotifyDestination>? destinations = null)
    {
        var errors = new List<string>();
        if (destinations is null)
        {
            var settings = Load(configPath, errors);
            foreach (var e in errors) stderr.WriteLine($"fshealer: {e}");
            if (settings is null) return 2;
            destinations = NotifyDestinations.Create(settings, l => stderr.WriteLine($"fshealer: {l}"));
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
            $"This is a test message from fshealer on {host} ({now:u}). If you read it, this destination works.\n", now) { Event = ev, Mount = "/" };
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

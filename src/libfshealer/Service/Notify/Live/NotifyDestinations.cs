using FsHealer.Service.Journal;
using FsHealer.Service.Notify;

namespace FsHealer.Service.Notify.Live;

/// <summary>Builds the destinations and the dispatcher from validated <see cref="NotifySettings"/>.</summary>
public static class NotifyDestinations
{
    public static List<INotifyDestination> Create(NotifySettings s, Action<string>? log = null, string? host = null, string? version = null)
    {
        host ??= Environment.MachineName;
        var list = new List<INotifyDestination>();
        if (s.Hooks is { } h) list.Add(new HookDestination(h, log) { Host = host, Version = version ?? "", FsUuid = new FsUuidLookup().For });
        if (s.Email is { } e) list.Add(new SendmailDestination(e));
        foreach (var w in s.Webhooks) list.Add(new WebhookDestination(w, host));
        return list;
    }

    /// <summary>The daemon's notifier: <c>ctx.Events.Add(NotifyDestinations.CreateDispatcher(settings, log))</c>.</summary>
    public static NotifyDispatcher CreateDispatcher(NotifySettings s, Action<string> log, TimeProvider? time = null, string? version = null)
    {
        var t = time ?? TimeProvider.System;
        var host = System.Environment.MachineName;
        var policy = new NotificationPolicy(s.Policy with { HostName = host }, t);
        return new NotifyDispatcher(policy, Create(s, log, host, version), t, log);
    }
}

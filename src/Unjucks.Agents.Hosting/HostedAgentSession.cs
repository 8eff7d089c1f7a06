namespace Unjucks.Agents.Hosting;

/// <summary>The <see cref="AgentSession"/> that <see cref="AgentHostingExtensions.AddAgentSession(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{AgentSessionOptions}?)"/>
/// starts with the host. Hosted services are constructed before any of them starts, so a hosted service that
/// needs the session takes this and awaits <see cref="WhenStarted"/> (resolving <see cref="AgentSession"/>
/// itself works only once the host has started).</summary>
public sealed class HostedAgentSession
{
    private readonly TaskCompletionSource<AgentSession> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal HostedAgentSession()
    {
    }

    /// <summary>Completes with the session once the host started it; faults if it could not start (the host's
    /// start fails with the same exception); cancelled if the host stopped first.</summary>
    public Task<AgentSession> WhenStarted => _started.Task;

    /// <summary>The started session.</summary>
    /// <exception cref="InvalidOperationException">The host has not started the session (yet), or it failed to start.</exception>
    public AgentSession Session => _started.Task.IsCompletedSuccessfully
        ? _started.Task.Result
        : throw new InvalidOperationException(_started.Task.IsFaulted
            ? $"The agent session failed to start: {_started.Task.Exception!.InnerException!.Message}"
            : "The agent session starts with the host: resolve AgentSession after IHost.StartAsync, or await HostedAgentSession.WhenStarted.");

    internal void SetStarted(AgentSession session) => _started.TrySetResult(session);

    internal void SetFailed(Exception exception) => _started.TrySetException(exception);

    internal void SetCancelled() => _started.TrySetCanceled();
}

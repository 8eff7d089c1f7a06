using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Unjucks.Agents.Hosting;

/// <summary>Starts the session when the host starts and disposes it (agents stopped, files removed) when the host
/// stops: SIGTERM or Ctrl+C to a hosted coordinator ends its agents through IHostApplicationLifetime.</summary>
internal sealed class AgentSessionService(
    HostedAgentSession hosted,
    IOptions<AgentSessionOptions> options,
    IServiceProvider services) : IHostedService
{
    private AgentSession? _session;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        AgentSessionOptions o = options.Value;
        // The host's logger, meter factory and clock, unless the options name their own.
        o.Logger ??= services.GetService<ILoggerFactory>()?.CreateLogger(AgentHostingExtensions.SessionLoggerCategory);
        o.MeterFactory ??= services.GetService<IMeterFactory>();
        o.TimeProvider ??= services.GetService<TimeProvider>();
        try
        {
            _session = await AgentSession.StartAsync(o, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            hosted.SetCancelled();
            throw;
        }
        catch (Exception e)
        {
            hosted.SetFailed(e);
            throw;
        }

        hosted.SetStarted(_session);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        hosted.SetCancelled(); // a hosted service still awaiting WhenStarted (start failed elsewhere) ends
        if (_session is { } session)
        {
            // Bounded by AgentSessionOptions.StopTimeout (then agents are killed); the host's own shutdown
            // timeout only abandons the wait, it does not leave agents running.
            await session.DisposeAsync().ConfigureAwait(false);
        }
    }
}

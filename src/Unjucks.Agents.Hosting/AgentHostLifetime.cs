using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;

namespace Unjucks.Agents.Hosting;

/// <summary>A hosted agent's lifetime: SIGTERM stops the host (and so the agent, which hands back its running
/// task). Unlike the console lifetime it does not stop on SIGINT or SIGHUP: a terminal sends those to every process
/// of its foreground group, and the coordinator, which receives them too, decides (it stops its agents).
/// <see cref="AgentHost"/> keeps both signals from terminating the process while it runs.</summary>
internal sealed class AgentHostLifetime(IHostApplicationLifetime lifetime) : IHostLifetime, IDisposable
{
    private PosixSignalRegistration? _terminate;

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true; // the host stops in order instead of the runtime terminating the process
            lifetime.StopApplication();
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _terminate?.Dispose();
}

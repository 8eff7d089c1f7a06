using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Unjucks.Agents;
using Unjucks.Agents.Hosting;

namespace Unjucks.HostedTestAgent;

/// <summary>A singleton the handler takes from DI.</summary>
internal sealed record Greeting(string Text);

/// <summary>A scoped service: one per task (its id shows that each task had its own scope).</summary>
internal sealed class TaskScope
{
    public Guid Id { get; } = Guid.NewGuid();
}

/// <summary>The agent's handler: "&lt;greeting&gt; &lt;payload&gt; pid=&lt;pid&gt; scope=&lt;id&gt;[ trace=&lt;id&gt; parent=&lt;span&gt;]".</summary>
internal sealed class EchoHandler(Greeting greeting, TaskScope scope, ILogger<EchoHandler> logger) : IAgentTaskHandler
{
    public ValueTask<ReadOnlyMemory<byte>> HandleAsync(AgentTask task, CancellationToken cancellationToken)
    {
        string payload = Encoding.UTF8.GetString(task.Payload.Span);
        logger.LogWarning("handled {Payload}", payload);
        string result = $"{greeting.Text} {payload} pid={Environment.ProcessId} scope={scope.Id:N}";
        if (Activity.Current is { } activity)
        {
            result += $" trace={activity.TraceId} parent={activity.ParentSpanId}";
        }

        return ValueTask.FromResult<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes(result));
    }
}

/// <summary>Logs when the agent's host is told to stop (SIGTERM reaches the agent through IHostApplicationLifetime).</summary>
internal sealed class StopNotice(IHostApplicationLifetime lifetime, ILogger<StopNotice> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(() => logger.LogWarning("agent {Pid} stopping through the host", Environment.ProcessId));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

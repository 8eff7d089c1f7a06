using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Unjucks.Agents;
using Unjucks.Agents.Hosting;

namespace Unjucks.Samples.Hosted;

/// <summary>A singleton of the agent process.</summary>
internal sealed class Greeter
{
    public string Greet(string name) => $"Hello, {name}!";
}

/// <summary>A scoped service: the agent creates a scope per task, so every task gets a fresh one.</summary>
internal sealed class Counter
{
    public int Uses { get; set; }
}

/// <summary>The agent's task handler, built by DI for each task.</summary>
internal sealed class GreetHandler(Greeter greeter, Counter counter, ILogger<GreetHandler> logger) : IAgentTaskHandler
{
    public ValueTask<ReadOnlyMemory<byte>> HandleAsync(AgentTask task, CancellationToken cancellationToken)
    {
        string name = Encoding.UTF8.GetString(task.Payload.Span);
        counter.Uses++;
        logger.LogInformation("greeting {Name} (task {Id}, attempt {Attempt})", name, task.Id, task.Attempt);
        string greeting = $"{greeter.Greet(name)} (agent pid {Environment.ProcessId}, scope uses {counter.Uses})";
        return ValueTask.FromResult<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes(greeting));
    }
}

/// <summary>The coordinator's job. Hosted services are built before the session starts, so it takes
/// <see cref="HostedAgentSession"/> and awaits the started session.</summary>
internal sealed class GreetingJob(HostedAgentSession hosted, IConfiguration configuration, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        AgentSession session = await hosted.WhenStarted.WaitAsync(stoppingToken);
        int names = configuration.GetValue("Sample:Names", 12);
        var tasks = new List<AgentTaskHandle>(names);
        for (int i = 0; i < names; i++)
        {
            tasks.Add(await session.SubmitAsync(Encoding.UTF8.GetBytes($"agent user {i}"), cancellationToken: stoppingToken));
        }

        foreach (AgentTaskHandle task in tasks)
        {
            Console.WriteLine(Encoding.UTF8.GetString((await task.Result.WaitAsync(stoppingToken)).Span));
        }

        AgentSessionSummary summary = await session.CompleteAsync(stoppingToken);
        Console.WriteLine($"{summary.Completed} greetings on {summary.TasksPerAgent.Count(n => n > 0)} agent(s), {summary.Failed} failed");
        lifetime.StopApplication();
    }
}

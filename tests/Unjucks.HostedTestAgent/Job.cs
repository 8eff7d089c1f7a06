using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Unjucks.Agents;
using Unjucks.Agents.Hosting;

namespace Unjucks.HostedTestAgent;

/// <summary>The coordinator's job (see Program.cs): constructed before the session starts, so it takes
/// <see cref="HostedAgentSession"/> and awaits the started session.</summary>
internal sealed class Job(HostedAgentSession hosted, IConfiguration configuration, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        AgentSession session = await hosted.WhenStarted.WaitAsync(stoppingToken);
        string mode = configuration["Job:Mode"] ?? "run";
        int tasks = int.Parse(configuration["Job:Tasks"] ?? "10", CultureInfo.InvariantCulture);
        if (mode == "wait")
        {
            tasks = session.AgentProcessIds.Count * 4;
        }

        var handles = new List<AgentTaskHandle>();
        for (int i = 0; i < tasks; i++)
        {
            handles.Add(await session.SubmitAsync(Encoding.UTF8.GetBytes($"task {i}"), cancellationToken: stoppingToken));
        }

        var lines = new List<string>();
        for (int i = 0; i < handles.Count; i++)
        {
            lines.Add($"result {i} {Encoding.UTF8.GetString((await handles[i].Result.WaitAsync(stoppingToken)).Span)}");
        }

        if (mode == "wait")
        {
            Console.WriteLine($"ready {session.FilePath} {string.Join(' ', session.AgentProcessIds)}");
            await Task.Delay(Timeout.Infinite, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        foreach (string line in lines)
        {
            Console.WriteLine(line);
        }

        lifetime.StopApplication();
    }
}

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
        if (mode == "wait")
        {
            await WaitForEveryAgentAsync(session, stoppingToken);
            Console.WriteLine($"ready {session.FilePath} {string.Join(' ', session.AgentProcessIds)}");
            await Task.Delay(Timeout.Infinite, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        int tasks = int.Parse(configuration["Job:Tasks"] ?? "10", CultureInfo.InvariantCulture);
        var lines = new List<string>();
        foreach (var (i, result) in await RunAsync(session, 0, tasks, stoppingToken))
        {
            lines.Add($"result {i} {result}");
        }

        foreach (string line in lines)
        {
            Console.WriteLine(line);
        }

        lifetime.StopApplication();
    }

    /// <summary>Runs tasks until every agent process has handled one: its host has started (and so handles
    /// SIGTERM) before it takes a task. A fast agent may do a whole batch while another is still starting.</summary>
    private static async Task WaitForEveryAgentAsync(AgentSession session, CancellationToken stoppingToken)
    {
        var seen = new HashSet<int>();
        for (int first = 0; !session.AgentProcessIds.All(seen.Contains); first += session.AgentProcessIds.Count * 4)
        {
            foreach (var (_, result) in await RunAsync(session, first, session.AgentProcessIds.Count * 4, stoppingToken))
            {
                seen.Add(int.Parse(result.Split(" pid=")[1].Split(' ')[0], CultureInfo.InvariantCulture));
            }
        }
    }

    private static async Task<List<(int Index, string Result)>> RunAsync(AgentSession session, int first, int count, CancellationToken stoppingToken)
    {
        var handles = new List<AgentTaskHandle>();
        for (int i = first; i < first + count; i++)
        {
            handles.Add(await session.SubmitAsync(Encoding.UTF8.GetBytes($"task {i}"), cancellationToken: stoppingToken));
        }

        var results = new List<(int, string)>();
        for (int i = 0; i < handles.Count; i++)
        {
            results.Add((first + i, Encoding.UTF8.GetString((await handles[i].Result.WaitAsync(stoppingToken)).Span)));
        }

        return results;
    }
}

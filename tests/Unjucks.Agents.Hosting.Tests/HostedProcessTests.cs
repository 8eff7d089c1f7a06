using System.Text.RegularExpressions;
using Unjucks.TestSupport;

namespace Unjucks.Agents.Hosting.Tests;

/// <summary>The hosted test program (tests/Unjucks.HostedTestAgent) as a user runs it: a Generic Host coordinator
/// whose session starts the same program as hosted agents, with DI-injected handlers; SIGTERM to either side.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class HostedProcessTests
{
    private const string Program = "Unjucks.HostedTestAgent";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(90); // hang guard on a busy 2-core machine

    [Test]
    [CancelAfter(180_000)]
    public void AHostedCoordinatorRunsEveryTaskOnceOnTwoHostedAgentsWithAScopePerTask()
    {
        const int tasks = 24;
        using var folder = SessionFolder.Create();
        using var coordinator = ChildProcess.Start(Program, ["--Job:Mode=run", $"--Job:Tasks={tasks}", "--Agents:Agents=2", $"--Agents:Directory={folder.Path}"]);
        string output = coordinator.WaitForSuccess(Guard);

        var results = ResultLine().Matches(output).Select(m => (Index: int.Parse(m.Groups[1].Value), Payload: m.Groups[2].Value,
            Pid: int.Parse(m.Groups[3].Value), Scope: m.Groups[4].Value)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(results.Select(r => r.Index), Is.EqualTo(Enumerable.Range(0, tasks)), output);
            Assert.That(results.All(r => r.Payload == $"task {r.Index}"), Is.True, "each result answers its own task: " + output);
            Assert.That(results.Select(r => r.Scope).Distinct().Count(), Is.EqualTo(tasks), "each task ran in its own DI scope");
            Assert.That(results.Select(r => r.Pid).Distinct().Count(), Is.InRange(1, 2), "two agent processes at most");
            Assert.That(results.Select(r => r.Pid), Has.None.EqualTo(coordinator.Id), "tasks ran in agent processes, not the coordinator");
            // Each agent's warning ("handled task i") reached the coordinator's logger, whole and at its level.
            for (int i = 0; i < tasks; i++)
            {
                Assert.That(output, Does.Match($@"warn: {Regex.Escape(AgentHostingExtensions.SessionLoggerCategory)}\[0\]\s+\[agent \d\] \S+EchoHandler\[0\] handled task {i}\n"),
                    $"the agent's log line for task {i} was forwarded");
            }

            Assert.That(folder.Leftovers(), Is.Empty, "the session's files were removed");
            Assert.That(folder.AgentsRunning(), Is.Empty, "no agent outlives the coordinator");
        });
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task SigtermToAHostedCoordinatorStopsItsAgentsAndRemovesTheSessionFiles()
    {
        using var folder = SessionFolder.Create();
        using var coordinator = ChildProcess.Start(Program, ["--Job:Mode=wait", "--Agents:Agents=2", $"--Agents:Directory={folder.Path}"]);
        (string file, int[] agents) = await ReadReadyAsync(coordinator);
        Assert.That(File.Exists(file), Is.True, "the session file exists while the session runs");
        Assert.That(agents, Has.Length.EqualTo(2));

        Signals.Send(coordinator.Id, Signals.SIGTERM);
        string rest = coordinator.WaitForSuccess(Guard); // exit code 0: a clean stop, not a crash

        int[] running = await folder.WaitForNoAgentsAsync(TimeSpan.FromSeconds(20));
        Assert.Multiple(() =>
        {
            Assert.That(running, Is.Empty, "SIGTERM to the coordinator stops its agents");
            Assert.That(agents.Where(Signals.IsRunning), Is.Empty);
            Assert.That(folder.Leftovers(), Is.Empty, "the session's files were removed");
            foreach (int pid in agents)
            {
                Assert.That(rest, Does.Contain($"agent {pid} stopping through the host"), "each agent stopped through its own host");
            }
        });
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task SigtermToAHostedAgentStopsItThroughItsHostAndTheSessionGoesOn()
    {
        using var folder = SessionFolder.Create();
        using var coordinator = ChildProcess.Start(Program, ["--Job:Mode=wait", "--Agents:Agents=2", $"--Agents:Directory={folder.Path}"]);
        (_, int[] agents) = await ReadReadyAsync(coordinator);

        Signals.Send(agents[0], Signals.SIGTERM);
        string notice = $"agent {agents[0]} stopping through the host";
        string line;
        do
        {
            line = await coordinator.ReadLineAsync(Guard);
        }
        while (!line.Contains(notice, StringComparison.Ordinal));

        DateTime until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (Signals.IsRunning(agents[0]) && DateTime.UtcNow < until)
        {
            await Task.Delay(50);
        }

        Assert.That(Signals.IsRunning(agents[0]), Is.False, "the agent exited after SIGTERM");
        Assert.That(coordinator.HasExited, Is.False, "the coordinator goes on without that agent");

        Signals.Send(coordinator.Id, Signals.SIGTERM);
        coordinator.WaitForSuccess(Guard);
        Assert.Multiple(async () =>
        {
            Assert.That(await folder.WaitForNoAgentsAsync(TimeSpan.FromSeconds(20)), Is.Empty);
            Assert.That(folder.Leftovers(), Is.Empty);
        });
    }

    /// <summary>Reads the coordinator's stdout up to its "ready &lt;session file&gt; &lt;agent pids&gt;" line.</summary>
    private static async Task<(string File, int[] Agents)> ReadReadyAsync(ChildProcess coordinator)
    {
        string line;
        do
        {
            line = await coordinator.ReadLineAsync(Guard);
        }
        while (!line.StartsWith("ready ", StringComparison.Ordinal));

        string[] parts = line.Split(' ');
        return (parts[1], [.. parts.Skip(2).Select(int.Parse)]);
    }

    [GeneratedRegex(@"^result (\d+) hello (task \d+) pid=(\d+) scope=([0-9a-f]{32})$", RegexOptions.Multiline)]
    private static partial Regex ResultLine();
}

using System.Diagnostics;
using Unjucks.Agents.Processes;

namespace Unjucks.Agents.Tests.Processes;

/// <summary>
/// Real agent processes (tests/Unjucks.AgentTestHost) coordinated through a shared region. No test asserts a
/// duration; the [CancelAfter] values are hang guards.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class JobCoordinatorTests : AgentProcessTestBase
{
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(4)]
    [CancelAfter(120_000)]
    public async Task TenThousandTasksCompleteExactlyOnce(int agents, CancellationToken ct)
    {
        await using var coordinator = await StartCoordinatorAsync(agents, ct);
        JobResult result = await coordinator.RunAsync(10_000, null, ct);

        AssertEveryResult(result, 10_000);
        JobSummary s = result.Summary;
        Assert.That(s.Agents.Sum(a => a.Commits), Is.EqualTo(10_000), "sum of the agents' own commit counts");
        foreach (AgentJobStats a in s.Agents)
        {
            Assert.That(a.Commits, Is.EqualTo(a.TasksExecuted), $"agent {a.Index}: its own commit count vs the Done records naming it");
            Assert.That(a.LostCommits, Is.Zero, $"agent {a.Index}: no lease was taken from a live agent");
        }

        Assert.That(s.AgentDeaths, Is.Zero);
        Assert.That(s.FailedTasks, Is.Zero);
        Assert.That(s.Throughput, Is.GreaterThan(0));
        Assert.That(s.QueueTime.P50, Is.EqualTo(s.MessageLatencyP50), "message latency is the placement-to-pickup data");
        Assert.That(s.CoordinationOverhead, Is.InRange(0.0, 1.0));
    }

    [TestCase(nameof(Placement.RoundRobin))]
    [TestCase(nameof(Placement.SharedQueue))]
    [CancelAfter(120_000)]
    public async Task OtherPlacementsCompleteExactlyOnce(string placementName, CancellationToken ct)
    {
        Placement placement = Enum.Parse<Placement>(placementName);
        var options = Options(3) with { Placement = placement };
        await using var coordinator = await StartCoordinatorAsync(options, ct);
        for (int job = 0; job < 2; job++)
        {
            JobResult result = await coordinator.RunAsync(5000, null, ct);
            AssertEveryResult(result, 5000);
            Assert.That(result.Summary.Agents.Sum(a => a.Commits), Is.EqualTo(5000), $"job {job}: sum of the agents' own commit counts");
            if (placement == Placement.SharedQueue)
            {
                Assert.That(result.Summary.TotalSteals, Is.Zero, "the shared-queue baseline never steals");
            }
        }
    }

    [Test]
    [Repeat(3)]
    [CancelAfter(120_000)]
    public async Task SigkilledAgentsTasksAreRecoveredExactlyOnce(CancellationToken ct)
    {
        const int tasks = 10_000;
        await using var coordinator = await StartCoordinatorAsync(4, ct, workUs: 30);
        int victim = Random.Shared.Next(4);
        int killAt = Random.Shared.Next(tasks / 10, tasks * 7 / 10);
        int victimPid = coordinator.Agents[victim].Pid;
        var killer = new KillAt(killAt, victimPid);

        JobResult result = await coordinator.RunAsync(tasks, killer, ct);

        Assert.That(killer.Killed, Is.True, $"the agent was killed (kill point {killAt} of {tasks} done)");
        AssertEveryResult(result, tasks);
        JobSummary s = result.Summary;
        Assert.That(s.AgentDeaths, Is.EqualTo(1), "the SIGKILLed agent was found dead");
        Assert.That(s.Agents[victim].Alive, Is.False, $"agent {victim} (pid {victimPid}) is reported dead");
        Assert.That(s.Agents.Sum(a => a.TasksExecuted), Is.EqualTo(tasks), "each task is Done exactly once");
        foreach (AgentJobStats a in s.Agents.Where(a => a.Alive))
        {
            Assert.That(a.Commits, Is.EqualTo(a.TasksExecuted), $"surviving agent {a.Index}: own commits vs Done records");
        }

        // The session keeps working on the three survivors.
        JobResult next = await coordinator.RunAsync(500, null, ct);
        AssertEveryResult(next, 500);
        Assert.That(next.Summary.Agents[victim].TasksExecuted, Is.Zero, "a dead agent executes nothing");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AHungHandlerIsEndedByTheLeaseTimeoutAndItsTasksFinishElsewhere(CancellationToken ct)
    {
        // Agent 0 hangs (never returns, ignores cancellation) in its 4th task; the others work normally. The time-out is
        // far above a healthy 100 µs task even on 2 loaded cores, so only the hung agent can reach it.
        const int tasks = 3000;
        var options = Options(3) with { LeaseTimeout = TimeSpan.FromSeconds(5) };
        await using var coordinator = await JobCoordinator.StartAsync(options, AgentTestHostLauncher.Launcher(modeOf: i => i == 0 ? "hang" : "f", workUs: 100), ct);

        JobResult result = await coordinator.RunAsync(tasks, null, ct);

        AssertEveryResult(result, tasks);
        JobSummary s = result.Summary;
        Assert.Multiple(() =>
        {
            Assert.That(s.LeaseTimeouts, Is.EqualTo(1), "the hung agent's lease timed out once");
            Assert.That(s.AgentDeaths, Is.EqualTo(1), "the hung agent was ended and seen dead");
            Assert.That(s.Agents[0].Alive, Is.False);
            Assert.That(s.Agents[0].TasksExecuted, Is.EqualTo(3), "agent 0 completed exactly its first 3 tasks");
            Assert.That(s.Agents.Sum(a => a.TasksExecuted), Is.EqualTo(tasks), "each task is Done exactly once");
        });
    }

    [Test]
    public void LeaseTimeoutMustBePositive()
    {
        Assert.That(async () => await JobCoordinator.StartAsync(Options(1) with { LeaseTimeout = TimeSpan.Zero }, AgentTestHostLauncher.Launcher()),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("LeaseTimeout"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task SingleAgentPlacementIsSpreadByCrossProcessSteals(CancellationToken ct)
    {
        var options = Options(3) with { Placement = Placement.SingleAgent };
        await using var coordinator = await StartCoordinatorAsync(options, ct, workUs: 20);
        JobResult result = await coordinator.RunAsync(4000, null, ct);

        AssertEveryResult(result, 4000);
        JobSummary s = result.Summary;
        int executors = s.Agents.Count(a => a.TasksExecuted > 0);
        string detail = string.Join(", ", s.Agents.Select(a => $"agent {a.Index}: {a.TasksExecuted} tasks, {a.Steals} steals of {a.StealAttempts}"));
        Assert.That(s.TotalSteals, Is.GreaterThan(0), detail);
        Assert.That(executors, Is.GreaterThan(1), detail);
        Assert.That(s.Agents.Skip(1).Sum(a => a.StolenTasks), Is.GreaterThanOrEqualTo(s.Agents.Skip(1).Sum(a => a.TasksExecuted)),
            "agents other than 0 only run what they stole: " + detail);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task HandlerExceptionsAreRecordedAsFailuresAndTheAgentLives(CancellationToken ct)
    {
        await using var coordinator = await StartCoordinatorAsync(2, ct, mode: "throw");
        JobResult result = await coordinator.RunAsync(1000, null, ct);

        long[] failedIds = [.. Enumerable.Range(0, 1000).Where(i => i % 10 == 3).Select(i => (long)i)];
        Assert.That(result.Failures.Keys.Order(), Is.EqualTo(failedIds), "exactly the throwing tasks failed");
        foreach (long id in failedIds)
        {
            Assert.That(result.Results[(int)id], Is.EqualTo(JobResult.FailedResult), $"task {id}");
            Assert.That(result.Failures[id], Does.Contain($"boom {id}").And.Contain("InvalidOperationException"), $"task {id}'s message");
        }

        for (int id = 0; id < 1000; id++)
        {
            if (id % 10 != 3)
            {
                Assert.That(result.Results[id], Is.EqualTo(AgentTestHostLauncher.ResultOf(id)), $"task {id}");
            }
        }

        Assert.That(result.Summary.FailedTasks, Is.EqualTo(100));
        Assert.That(result.Summary.Agents.Sum(a => a.Failures), Is.EqualTo(100), "the agents counted their failures");
        Assert.That(result.Summary.AgentDeaths, Is.Zero);
        foreach (AgentProcessInfo a in coordinator.Agents)
        {
            Assert.That(coordinator.Region.Agents.IsAlive(a.RegistrySlot), Is.True, $"agent {a.Index} is still alive");
        }

        JobResult again = await coordinator.RunAsync(100, null, ct);
        Assert.That(again.Failures, Has.Count.EqualTo(10), "the agents keep serving jobs");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task PayloadsReachTheHandler(CancellationToken ct)
    {
        await using var coordinator = await StartCoordinatorAsync(2, ct);
        var payloads = Enumerable.Range(0, 500).Select(i => (ReadOnlyMemory<byte>)Enumerable.Repeat((byte)(i % 7), i % 40).ToArray()).ToArray();
        JobResult result = await coordinator.RunAsync(payloads, null, ct);

        for (int id = 0; id < 500; id++)
        {
            long expected = AgentTestHostLauncher.ResultOf(id) + ((id % 7) * (id % 40));
            Assert.That(result.Results[id], Is.EqualTo(expected), $"task {id}: result + payload sum");
        }

        Assert.That(() => coordinator.RunAsync([new byte[coordinator.Region.State.MaxValueBytes + 1]], null, ct),
            Throws.ArgumentException.With.Message.Contains("MaxPayloadBytes"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AnAgentThatNeverRegistersIsATypedErrorNamingIt(CancellationToken ct)
    {
        var options = Options(2) with { StartupTimeout = TimeSpan.FromSeconds(5), SessionName = "silent" };
        var e = await Assert.ThrowsAsync<AgentStartupException>(async () =>
            await JobCoordinator.StartAsync(options, AgentTestHostLauncher.Launcher(modeOf: i => i == 1 ? "silent" : "f"), ct));
        Assert.That(e!.AgentIndex, Is.EqualTo(1), e.Message);
        Assert.That(e.StandardError, Does.Contain("never registering"), e.Message);
        Assert.That(e.Message, Does.Contain("did not register"));
        Assert.That(Directory.EnumerateFiles(Dir, "silent*"), Is.Empty, "the session's files were removed");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AnAgentThatExitsBeforeRegisteringIsATypedErrorWithItsExitCode(CancellationToken ct)
    {
        var options = Options(2) with { StartupTimeout = TimeSpan.FromSeconds(60) };
        var e = await Assert.ThrowsAsync<AgentStartupException>(async () =>
            await JobCoordinator.StartAsync(options, AgentTestHostLauncher.Launcher(modeOf: i => i == 0 ? "crash" : "f"), ct));
        Assert.That(e!.AgentIndex, Is.EqualTo(0), e.Message);
        Assert.That(e.ExitCode, Is.EqualTo(3), e.Message);
        Assert.That(e.StandardError, Does.Contain("crash agent"), e.Message);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task CancellingAJobStopsItAndTheSessionRunsTheNextOne(CancellationToken ct)
    {
        await using var coordinator = await StartCoordinatorAsync(2, ct, workUs: 50);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var cancelAt = new CancelAt(cancel, 500);
        Assert.That(async () => await coordinator.RunAsync(10_000, cancelAt, cancel.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(Directory.EnumerateFiles(Dir, "*.job"), Is.Empty, "the cancelled job's segment was removed");

        JobResult next = await coordinator.RunAsync(1000, null, ct);
        AssertEveryResult(next, 1000);
        Assert.That(next.JobSequence, Is.EqualTo(2));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AgentsLeaveWhenTheirCoordinatorIsGone(CancellationToken ct)
    {
        await using var coordinator = await StartCoordinatorAsync(2, ct);
        AssertEveryResult(await coordinator.RunAsync(100, null, ct), 100);
        var agents = coordinator.Agents.Select(a => Process.GetProcessById(a.Pid)).ToArray();

        // What a dead coordinator looks like to its agents: its registry slot is no longer held.
        coordinator.Region.Agents.Unregister();
        foreach (Process agent in agents)
        {
            await agent.WaitForExitAsync(ct);
            agent.Dispose();
        }

        foreach (AgentProcessInfo a in coordinator.Agents)
        {
            Assert.That(coordinator.Control.RunState(a.Index), Is.EqualTo(AgentRunState.Exited), $"agent {a.Index} left its loop (not killed)");
        }
    }

    internal static void AssertEveryResult(JobResult result, int tasks)
    {
        Assert.That(result.Results, Has.Count.EqualTo(tasks));
        for (int id = 0; id < tasks; id++)
        {
            if (result.Results[id] != AgentTestHostLauncher.ResultOf(id))
            {
                Assert.Fail($"task {id}: result {result.Results[id]}, expected {AgentTestHostLauncher.ResultOf(id)} (executed by agent {result.ExecutedBy[id]})");
            }
        }

        Assert.That(result.Failures, Is.Empty);
    }

    private sealed class CancelAt(CancellationTokenSource cancel, int atDone) : IProgress<JobProgress>
    {
        public void Report(JobProgress value)
        {
            if (value.Done >= atDone)
            {
                cancel.Cancel();
            }
        }
    }

    /// <summary>Synchronous progress sink (runs on the coordinator's monitor thread): SIGKILLs one agent once enough tasks are done.</summary>
    private sealed class KillAt(int atDone, int pid) : IProgress<JobProgress>
    {
        public bool Killed { get; private set; }

        public void Report(JobProgress value)
        {
            if (Killed || value.Done < atDone)
            {
                return;
            }

            using var process = Process.GetProcessById(pid);
            process.Kill(); // SIGKILL.
            process.WaitForExit();
            Killed = true;
        }
    }
}

using Unjucks.Agents.Processes;

namespace Unjucks.Agents.Tests.Processes;

/// <summary>
/// The same engine with agents as threads of this process (<see cref="JobCoordinator.StartInProcessAsync"/>): each
/// agent runs <see cref="JobAgentHost.RunAsync"/> on its own thread over its own region instance and registry slot.
/// </summary>
public sealed class InProcessAgentTests : AgentProcessTestBase
{
    [Test]
    [Repeat(3)]
    [CancelAfter(120_000)]
    public async Task TwoThousandTasksOnFourThreadAgentsCompleteExactlyOnce(CancellationToken ct)
    {
        const int tasks = 2000;
        var executions = new int[tasks];
        var handler = new CountingHandler(executions);
        await using var coordinator = await JobCoordinator.StartInProcessAsync(
            Options(4), (launch, token) => JobAgentHost.RunAsync(new AgentHostOptions(launch), handler, token), ct);

        var slots = coordinator.Agents.Select(a => a.RegistrySlot).ToArray();
        Assert.That(slots.Distinct().Count(), Is.EqualTo(4), $"one registry slot per in-process agent: {string.Join(",", slots)}");
        Assert.That(coordinator.Agents.Select(a => a.Pid), Is.All.EqualTo(Environment.ProcessId), "thread agents run in this process");

        JobResult result = await coordinator.RunAsync(tasks, null, ct);

        Assert.That(result.Results, Has.Count.EqualTo(tasks));
        for (int id = 0; id < tasks; id++)
        {
            if (result.Results[id] != CountingHandler.ResultOf(id) || executions[id] != 1)
            {
                Assert.Fail($"task {id}: result {result.Results[id]} (expected {CountingHandler.ResultOf(id)}), executed {executions[id]} times (expected 1)");
            }
        }

        JobSummary s = result.Summary;
        Assert.That(s.Agents.Sum(a => a.Commits), Is.EqualTo(tasks), "sum of the agents' own commit counts");
        Assert.That(s.AgentDeaths, Is.Zero, "no in-process agent was seen dead");
        Assert.That(s.Agents.Select(a => a.Alive), Is.All.True, "every thread agent alive at the end");
    }

    [Test]
    [Repeat(3)]
    [CancelAfter(120_000)]
    public async Task AThreadAgentKilledMidJobIsRecoveredAndEveryTaskCommitsOnce(CancellationToken ct)
    {
        const int tasks = 2000;
        var executions = new int[tasks];
        JobCoordinator? owner = null;
        int killed = 0;
        // Agent 1 is killed (its token cancelled, what Kill does to a thread agent) from inside its 50th task, and that
        // task does not return until the kill has landed: the agent dies holding a lease, so the job can only finish
        // after the coordinator has seen the death and recovered the task (deterministic, whatever the scheduling).
        var handler = new CountingHandler(executions, (context, token) =>
        {
            if (context.AgentIndex == 1 && Interlocked.Increment(ref killed) == 50)
            {
                _ = Task.Run(() => owner!.AgentProcesses[1].Kill(), CancellationToken.None);
                Assert.That(token.WaitHandle.WaitOne(TimeSpan.FromSeconds(60)), Is.True, "Kill never cancelled agent 1's token");
                token.ThrowIfCancellationRequested();
            }
        });
        await using var coordinator = await JobCoordinator.StartInProcessAsync(
            Options(4) with { Placement = Placement.RoundRobin }, (launch, token) => JobAgentHost.RunAsync(new AgentHostOptions(launch), handler, token), ct);
        owner = coordinator;

        JobResult result = await coordinator.RunAsync(tasks, null, ct);

        Assert.That(result.Results, Has.Count.EqualTo(tasks));
        for (int id = 0; id < tasks; id++)
        {
            if (result.Results[id] != CountingHandler.ResultOf(id) || executions[id] < 1)
            {
                Assert.Fail($"task {id}: result {result.Results[id]} (expected {CountingHandler.ResultOf(id)}), executed {executions[id]} times");
            }
        }

        JobSummary s = result.Summary;
        Assert.That(Volatile.Read(ref killed), Is.GreaterThanOrEqualTo(50), "agent 1 ran at least 50 tasks before it was killed");
        Assert.That(s.AgentDeaths, Is.EqualTo(1), "the killed thread agent is seen dead (its flock released with its region instance)");
        Assert.That(s.Agents.Single(a => a.Index == 1).Alive, Is.False, "agent 1 is dead");
        Assert.That(s.Agents.Sum(a => a.TasksExecuted), Is.EqualTo(tasks), "each task has exactly one Done record");
        Assert.That(executions.Sum() - tasks, Is.LessThanOrEqualTo(1), "at most the killed agent's task in flight ran twice");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AThreadAgentHungInAHandlerIsEndedByTheLeaseTimeout(CancellationToken ct)
    {
        const int tasks = 1000;
        var executions = new int[tasks];
        int started = 0;
        // Agent 2 hangs in its 10th task until its token is cancelled (what the lease time-out does to a thread agent).
        // The time-out is far above a healthy task even on 2 loaded cores, so only the hung agent can reach it.
        var handler = new CountingHandler(executions, (context, token) =>
        {
            if (context.AgentIndex == 2 && Interlocked.Increment(ref started) == 10)
            {
                token.WaitHandle.WaitOne();
                token.ThrowIfCancellationRequested();
            }
        });
        await using var coordinator = await JobCoordinator.StartInProcessAsync(
            Options(3) with { LeaseTimeout = TimeSpan.FromSeconds(5) }, (launch, token) => JobAgentHost.RunAsync(new AgentHostOptions(launch), handler, token), ct);

        JobResult result = await coordinator.RunAsync(tasks, null, ct);

        for (int id = 0; id < tasks; id++)
        {
            if (result.Results[id] != CountingHandler.ResultOf(id) || executions[id] < 1)
            {
                Assert.Fail($"task {id}: result {result.Results[id]} (expected {CountingHandler.ResultOf(id)}), executed {executions[id]} times");
            }
        }

        JobSummary s = result.Summary;
        Assert.Multiple(() =>
        {
            Assert.That(s.LeaseTimeouts, Is.EqualTo(1));
            Assert.That(s.AgentDeaths, Is.EqualTo(1), "the ended thread agent is seen dead");
            Assert.That(s.Agents.Single(a => a.Index == 2).Alive, Is.False);
            Assert.That(s.Agents.Sum(a => a.TasksExecuted), Is.EqualTo(tasks), "each task has exactly one Done record");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AnAgentDelegateThatThrowsFailsTheStartWithItsMessage(CancellationToken ct)
    {
        var e = await Assert.ThrowsAsync<AgentStartupException>(async () =>
            await JobCoordinator.StartInProcessAsync(Options(2), (launch, token) => launch.AgentIndex == 1
                ? throw new InvalidDataException("agent one cannot start")
                : Task.Delay(Timeout.Infinite, token), ct));
        Assert.That(e!.AgentIndex, Is.EqualTo(1), e.Message);
        Assert.That(e.ExitCode, Is.EqualTo(1), e.Message);
        Assert.That(e.Message, Does.Contain("agent one cannot start"));
    }

    /// <summary>Counts each task's executions; returns a deterministic result.</summary>
    private sealed class CountingHandler(int[] executions, Action<TaskContext, CancellationToken>? after = null) : ITaskHandler
    {
        public static long ResultOf(long id) => (id * 7919) + 1;

        public ValueTask<long> ExecuteAsync(TaskContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref executions[context.TaskId]); // atomic: read by the test after the job's result.
            after?.Invoke(context, cancellationToken);
            return ValueTask.FromResult(ResultOf(context.TaskId));
        }
    }
}

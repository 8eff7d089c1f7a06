using Unjucks.Agents.Gc;
using Unjucks.Agents.Processes;

namespace Unjucks.Agents.Tests.Processes;

/// <summary>
/// Coordinated GC through the coordinator, with real agent processes (tests/Unjucks.AgentTestHost): on demand during a
/// job and between jobs, and automatic rounds from the agents' published heap sizes. Gen-2 counts are the agents' own
/// GC.CollectionCount(2), reported back by the round. No test asserts a duration; [CancelAfter] values are hang guards.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class JobCoordinatorGcTests : AgentProcessTestBase
{
    private static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(20);

    [Test]
    [CancelAfter(120_000)]
    public async Task ARoundDuringAJobCollectsEveryAgentAndTheJobCompletesExactlyOnce(CancellationToken ct)
    {
        const int tasks = 600;
        await using var coordinator = await StartCoordinatorAsync(2, ct, workUs: 1000);
        await using StreamingJob job = await coordinator.StartStreamingJobAsync(tasks, null, ct);
        for (int i = 0; i < tasks / 2; i++)
        {
            job.Submit(ReadOnlyMemory<byte>.Empty);
        }

        await job.Completion(10).WaitAsync(ct); // the agents are working.
        GcRoundResult round = await coordinator.RunGcRoundAsync(AckTimeout, ct);
        for (int i = tasks / 2; i < tasks; i++)
        {
            job.Submit(ReadOnlyMemory<byte>.Empty); // the job goes on after the round.
        }

        JobResult result = await job.CompleteAsync().WaitAsync(ct);

        AssertCollectedEveryAgent(round, coordinator);
        JobCoordinatorTests.AssertEveryResult(result, tasks);
        Assert.That(result.Summary.Agents.Sum(a => a.TasksExecuted), Is.EqualTo(tasks), "each task Done exactly once");
        Assert.That(result.Summary.GcRounds, Has.Member(round), "the on-demand round is listed in the job's summary");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ARoundOverIdleAgentsBetweenJobsCollectsEveryAgent(CancellationToken ct)
    {
        await using var coordinator = await StartCoordinatorAsync(2, ct);
        JobCoordinatorTests.AssertEveryResult(await coordinator.RunAsync(200, null, ct), 200);

        GcRoundResult round = await coordinator.RunGcRoundAsync(AckTimeout, ct);
        AssertCollectedEveryAgent(round, coordinator);

        JobResult next = await coordinator.RunAsync(200, null, ct);
        JobCoordinatorTests.AssertEveryResult(next, 200);
        Assert.That(next.Summary.GcRounds, Is.Empty, "a round between jobs belongs to no job");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ATinyBudgetTriggersAnAutomaticRoundAndTheJobCompletes(CancellationToken ct)
    {
        const int tasks = 1500;
        var options = Options(2) with
        {
            GcBudgetBytes = 1, // any heap is far above 0.8 of it.
            GcCheckInterval = TimeSpan.FromMilliseconds(20),
            GcAckTimeout = AckTimeout,
            GcCooldown = TimeSpan.FromHours(1),
        };
        await using var coordinator = await StartCoordinatorAsync(options, ct, workUs: 1000);
        JobResult result = await coordinator.RunAsync(tasks, null, ct);

        JobCoordinatorTests.AssertEveryResult(result, tasks);
        Assert.That(result.Summary.Agents.Sum(a => a.TasksExecuted), Is.EqualTo(tasks), "each task Done exactly once");
        Assert.That(result.Summary.GcRounds, Is.Not.Empty, "the pressure check started a round");
        Assert.That(result.Summary.GcRounds, Has.Count.EqualTo(1), "the cooldown allows one round");
        AssertCollectedEveryAgent(result.Summary.GcRounds[0], coordinator);
    }

    [Test]
    public void GcOptionsAreChecked()
    {
        Assert.That(() => JobCoordinator.StartAsync(Options(1) with { GcBudgetBytes = 0 }, AgentTestHostLauncher.Launcher()),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("GcBudgetBytes"));
        Assert.That(() => JobCoordinator.StartAsync(Options(1) with { GcPressureThreshold = 1.5 }, AgentTestHostLauncher.Launcher()),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("GcPressureThreshold"));
    }

    private static void AssertCollectedEveryAgent(GcRoundResult round, JobCoordinator coordinator)
    {
        string detail = string.Join("; ", round.Agents.Select(a => $"slot {a.AgentSlot} pid {a.Pid}: {a.Outcome} gen2 {a.Gen2Before}->{a.Gen2After} {a.Error}"));
        Assert.That(round.Agents.Select(a => a.Pid).Order(), Is.EqualTo(coordinator.Agents.Select(a => a.Pid).Order()), "every live agent is a target: " + detail);
        foreach (GcAgentReport a in round.Agents)
        {
            Assert.That(a.Outcome, Is.EqualTo(GcAgentOutcome.Collected), detail);
            Assert.That(a.Gen2After, Is.GreaterThan(a.Gen2Before), "a gen-2 GC ran in the agent: " + detail);
        }
    }
}

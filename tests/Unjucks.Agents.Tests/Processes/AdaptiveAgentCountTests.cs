using Unjucks.Agents.Processes;

namespace Unjucks.Agents.Tests.Processes;

/// <summary>The adaptive controller's limit decides how many agent processes execute tasks (synthetic samples).</summary>
[TestFixture]
[NonParallelizable]
public sealed class AdaptiveAgentCountTests : AgentProcessTestBase
{
    [Test]
    [CancelAfter(120_000)]
    public async Task ControllerDecisionsChangeHowManyAgentsExecute(CancellationToken ct)
    {
        var options = Options(4) with
        {
            Adaptive = new AdaptiveConcurrencyOptions { MinLimit = 1, MaxLimit = 4, InitialLimit = 4 },
            AdaptiveInterval = TimeSpan.Zero, // samples only through RecordSample: synthetic inputs.
        };
        await using var coordinator = await StartCoordinatorAsync(options, ct, workUs: 20);
        Assert.That(coordinator.ActiveAgentCount, Is.EqualTo(4));

        // Memory pressure above 0.9: the seed policy lowers the limit by one per sample.
        for (int i = 0; i < 10 && coordinator.ActiveAgentCount > 1; i++)
        {
            coordinator.RecordSample(new ConcurrencySample(1000, TimeSpan.FromMilliseconds(1), 0.95));
        }

        Assert.That(coordinator.ActiveAgentCount, Is.EqualTo(1), "the controller shrank the active agents to its minimum");
        JobResult shrunk = await coordinator.RunAsync(2000, null, ct);
        JobCoordinatorTests.AssertEveryResult(shrunk, 2000);
        string detail = string.Join(", ", shrunk.Summary.Agents.Select(a => $"agent {a.Index}: {a.TasksExecuted} (active {a.Active})"));
        Assert.That(shrunk.Summary.Agents[0].TasksExecuted, Is.EqualTo(2000), "only the one active agent executed: " + detail);
        Assert.That(shrunk.Summary.Agents.Skip(1).Select(a => a.TasksExecuted), Is.All.Zero, detail);

        // Rising throughput at steady latency and low pressure: +1 per sample.
        double throughput = 1000;
        for (int i = 0; i < 20 && coordinator.ActiveAgentCount < 4; i++)
        {
            throughput *= 2;
            coordinator.RecordSample(new ConcurrencySample(throughput, TimeSpan.FromMilliseconds(1), 0.1));
        }

        Assert.That(coordinator.ActiveAgentCount, Is.EqualTo(4), "the controller grew the active agents back");
        JobResult grown = await coordinator.RunAsync(2000, null, ct);
        JobCoordinatorTests.AssertEveryResult(grown, 2000);
        detail = string.Join(", ", grown.Summary.Agents.Select(a => $"agent {a.Index}: {a.TasksExecuted}"));
        Assert.That(grown.Summary.Agents.Count(a => a.TasksExecuted > 0), Is.GreaterThan(1), "more than one agent executed: " + detail);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ShrinkingMidJobReplacesTheParkedAgentsQueuedWork(CancellationToken ct)
    {
        var options = Options(3) with { ProgressInterval = TimeSpan.FromMilliseconds(2) };
        await using var coordinator = await StartCoordinatorAsync(options, ct, workUs: 30);
        var shrink = new ShrinkAt(coordinator, 600);
        JobResult result = await coordinator.RunAsync(3000, shrink, ct);

        JobCoordinatorTests.AssertEveryResult(result, 3000);
        Assert.That(shrink.Done, Is.True);
        Assert.That(result.Summary.Agents.Count(a => a.Active), Is.EqualTo(1));
        Assert.That(result.Summary.Agents.Sum(a => a.TasksExecuted), Is.EqualTo(3000));
        Assert.That(result.Summary.ActiveCountChanges, Has.Some.Matches<ActiveCountChange>(c => c!.OldCount == 3 && c.NewCount == 1));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task MeasuredSamplesDuringAJobShrinkTheActiveAgentsUnderMemoryPressure(CancellationToken ct)
    {
        var options = Options(3) with
        {
            Adaptive = new AdaptiveConcurrencyOptions { MinLimit = 1, MaxLimit = 3, InitialLimit = 3 },
            AdaptiveInterval = TimeSpan.FromMilliseconds(5),
            MemoryPressure = () => 0.95, // above the seed policy's 0.9: lower by one per sample.
        };
        await using var coordinator = await StartCoordinatorAsync(options, ct, workUs: 30);
        JobResult result = await coordinator.RunAsync(10_000, null, ct);

        JobCoordinatorTests.AssertEveryResult(result, 10_000);
        var changes = result.Summary.ActiveCountChanges;
        Assert.That(changes, Is.Not.Empty, "the controller lowered the active agents during the job");
        Assert.That(changes.All(c => c.NewCount < c.OldCount), Is.True, string.Join(", ", changes));
        Assert.That(coordinator.ActiveAgentCount, Is.EqualTo(changes[^1].NewCount));
        Assert.That(result.Summary.Agents.Sum(a => a.TasksExecuted), Is.EqualTo(10_000));
    }

    private sealed class ShrinkAt(JobCoordinator coordinator, int atDone) : IProgress<JobProgress>
    {
        public bool Done { get; private set; }

        public void Report(JobProgress value)
        {
            if (!Done && value.Done >= atDone)
            {
                coordinator.SetActiveAgentCount(1);
                Done = true;
            }
        }
    }
}

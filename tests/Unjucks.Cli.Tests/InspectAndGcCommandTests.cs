using Unjucks.Cli.Engine;

namespace Unjucks.Cli.Tests;

[TestFixture]
public sealed class InspectAndGcCommandTests
{
    [Test]
    public async Task InspectWithoutNameListsRegionsAndMarksDeadOnes()
    {
        var services = new FakeServices();
        services.Inspector.Regions.Add(FakeRegionInspector.Region("job-live", creatorAlive: true, agentsAlive: 4));
        services.Inspector.Regions.Add(FakeRegionInspector.Region("job-dead", creatorAlive: false, agentsAlive: 0));

        var run = await CliRun.InvokeAsync(services, "inspect");

        var lines = run.Out.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(lines.Single(l => l.Contains("job-live", StringComparison.Ordinal)), Does.Contain("in use").And.Contain("4/4"));
            Assert.That(lines.Single(l => l.Contains("job-dead", StringComparison.Ordinal)), Does.Contain("dead (inspect --cleanup removes it)"));
        });
    }

    [Test]
    public async Task InspectWithNoRegionsSaysSo()
    {
        var run = await CliRun.InvokeAsync(new FakeServices(), "inspect");

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero);
            Assert.That(run.Out, Does.Contain("No regions."));
        });
    }

    [Test]
    public async Task InspectNameShowsAgentsQueuesLocksSlotsAndSequence()
    {
        var services = new FakeServices();
        services.Inspector.Snapshots["job-1"] = FakeRegionInspector.SampleSnapshot("job-1");

        var run = await CliRun.InvokeAsync(services, "inspect", "job-1");

        var lines = run.Out.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(lines.Single(l => l.Contains("51001", StringComparison.Ordinal) && l.Contains("running", StringComparison.Ordinal)),
                Does.Contain("yes").And.Contain("12.00 ms").And.Contain("77"));
            Assert.That(lines.Single(l => l.Contains("51002", StringComparison.Ordinal) && l.Contains("dead", StringComparison.Ordinal) && !l.Contains("recovered", StringComparison.Ordinal)),
                Does.Contain("no").And.Contain("9.00 s"));
            Assert.That(run.Out, Does.Contain("ready").And.Contain("1,024"));
            Assert.That(run.Out, Does.Contain("deque[0]").And.Contain("unbounded"));
            Assert.That(run.Out, Does.Contain("free"));
            Assert.That(run.Out, Does.Contain("51002 (dead; recovered on next acquire)"));
            Assert.That(run.Out, Does.Contain("change sequence 987654"));
            Assert.That(run.Out, Does.Contain("state slots 17/4096 in use"));
        });
    }

    [Test]
    public async Task InspectUnknownNameExits1WithAHint()
    {
        var run = await CliRun.InvokeAsync(new FakeServices(), "inspect", "nope");

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain("no region named 'nope'").And.Contain("'unjucks-perf inspect' lists"));
        });
    }

    [Test]
    public async Task InspectWatchRefreshesUntilCancelled()
    {
        var services = new FakeServices();
        services.Inspector.Snapshots["job-1"] = FakeRegionInspector.SampleSnapshot("job-1");
        using var cancellation = new CancellationTokenSource();
        services.Inspector.AfterSnapshot = calls =>
        {
            if (calls == 2)
            {
                cancellation.Cancel();
            }
        };

        var run = await CliRun.InvokeAsync(services, cancellation.Token, "inspect", "job-1", "--watch");

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(services.Inspector.SnapshotCalls, Is.EqualTo(2));
            Assert.That(run.Out.Split("change sequence 987654").Length - 1, Is.EqualTo(2), "two refreshes printed");
        });
    }

    [Test]
    public async Task CleanupSaysWhatItRemoved()
    {
        var services = new FakeServices();
        services.Inspector.Removable.Add(new RemovedRegion("job-old", "/dev/shm/unjucks-0/job-old", 1024 * 1024, "creator 4711 and 4 agents are gone"));

        var run = await CliRun.InvokeAsync(services, "inspect", "--cleanup");
        var none = await CliRun.InvokeAsync(services, "inspect", "other", "--cleanup");

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(run.Out, Does.Contain("Removed 1 dead region(s)").And.Contain("job-old").And.Contain("creator 4711 and 4 agents are gone"));
            Assert.That(none.ExitCode, Is.Zero, none.ToString());
            Assert.That(services.Inspector.CleanupName, Is.EqualTo("other"));
            Assert.That(none.Out, Does.Contain("nothing removed"));
        });
    }

    [Test]
    public async Task GcWithoutNamePicksTheOnlyRunningJobAndPrintsPerAgentReport()
    {
        var services = new FakeServices();
        services.Inspector.Regions.Add(FakeRegionInspector.Region("job-dead", creatorAlive: false, agentsAlive: 0));
        services.Inspector.Regions.Add(FakeRegionInspector.Region("job-live", creatorAlive: true, agentsAlive: 2));

        var run = await CliRun.InvokeAsync(services, "gc");

        var lines = run.Out.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(services.Gc.Rounds, Is.EqualTo(new[] { "job-live" }));
            Assert.That(lines.Single(l => l.Contains("51001", StringComparison.Ordinal)),
                Does.Contain("64.0 MB").And.Contain("16.0 MB").And.Contain("48.0 MB").And.Contain("3.50 ms").And.Contain("75.0%").And.Contain("acknowledged"));
            Assert.That(run.Out, Does.Contain("48.0 MB freed; 2 acknowledged, 0 timed out"));
        });
    }

    [Test]
    public async Task GcWithATimedOutAgentExits1()
    {
        var services = new FakeServices();
        services.Gc.SecondAgentOutcome = GcOutcome.TimedOut;

        var run = await CliRun.InvokeAsync(services, "gc", "job-x", "--timeout", "3");

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(services.Gc.Rounds, Is.EqualTo(new[] { "job-x" }));
            Assert.That(run.Out, Does.Contain("timed out"));
        });
    }

    [Test]
    public async Task GcWithoutNameAndNoOrSeveralJobsExplains()
    {
        var services = new FakeServices();
        var none = await CliRun.InvokeAsync(services, "gc");
        services.Inspector.Regions.Add(FakeRegionInspector.Region("a", creatorAlive: true, agentsAlive: 1));
        services.Inspector.Regions.Add(FakeRegionInspector.Region("b", creatorAlive: true, agentsAlive: 1));
        var several = await CliRun.InvokeAsync(services, "gc");

        Assert.Multiple(() =>
        {
            Assert.That(none.ExitCode, Is.EqualTo(1), none.ToString());
            Assert.That(none.Error, Does.Contain("no running job found"));
            Assert.That(several.ExitCode, Is.EqualTo(1), several.ToString());
            Assert.That(several.Error, Does.Contain("2 jobs are running (a, b)"));
            Assert.That(services.Gc.Rounds, Is.Empty);
        });
    }
}

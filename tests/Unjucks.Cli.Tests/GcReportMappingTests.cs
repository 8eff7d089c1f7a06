using Unjucks.Agents.Gc;
using Unjucks.Cli.Adapters;
using Unjucks.Cli.Engine;

namespace Unjucks.Cli.Tests;

/// <summary>How the coordinator's per-agent reports become the <c>gc</c> view's rows, and what a failed agent does to the command.</summary>
[TestFixture]
internal sealed class GcReportMappingTests
{
    [Test]
    public void ACollectedAgentKeepsItsBytesAndPause()
    {
        var row = GcCoordinatorAdapter.ToView(new GcAgentReport(3, 4711, GcAgentOutcome.Collected, 8_000_000, 500_000, 1, 2, TimeSpan.FromMilliseconds(1.5), null));

        Assert.That(row, Is.EqualTo(new AgentGcReport(3, 4711, 8_000_000, 500_000, TimeSpan.FromMilliseconds(1.5), GcOutcome.Acknowledged)));
        Assert.That((row.BytesFreed, row.Efficiency), Is.EqualTo((7_500_000L, 0.9375)));
    }

    [Test]
    public void ATimedOutAgentFreedNothing()
    {
        var row = GcCoordinatorAdapter.ToView(new GcAgentReport(1, 4712, GcAgentOutcome.TimedOut, 0, 0, 0, 0, TimeSpan.Zero, "did not acknowledge"));

        Assert.That(row, Is.EqualTo(new AgentGcReport(1, 4712, 0, 0, TimeSpan.Zero, GcOutcome.TimedOut, "did not acknowledge")));
        Assert.That((row.BytesFreed, row.Efficiency), Is.EqualTo((0L, 0.0)));
    }

    [Test]
    public void AFailedAgentKeepsItsBeforeBytesAndReason()
    {
        var row = GcCoordinatorAdapter.ToView(new GcAgentReport(2, 4713, GcAgentOutcome.Failed, 900_000, 0, 4, 0, TimeSpan.Zero, "process exited"));

        Assert.That(row, Is.EqualTo(new AgentGcReport(2, 4713, 900_000, 900_000, TimeSpan.Zero, GcOutcome.Failed, "process exited")));
        Assert.That(row.BytesFreed, Is.Zero);
    }

    [Test]
    public async Task GcWithAFailedAgentShowsWhyAndExits1()
    {
        var services = new FakeServices();
        services.Gc.SecondAgentOutcome = GcOutcome.Failed;

        var run = await CliRun.InvokeAsync(services, "gc", "job-x");

        var lines = run.Out.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(lines.Single(l => l.Contains("51002", StringComparison.Ordinal)), Does.Contain("failed"), run.ToString());
            Assert.That(run.Out, Does.Contain("1 acknowledged, 0 timed out, 1 failed"), run.ToString());
        });
    }
}

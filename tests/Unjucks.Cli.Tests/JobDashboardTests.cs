using System.Diagnostics;
using Unjucks.Agents;
using Unjucks.Cli.Adapters;
using Unjucks.Cli.Engine;
using Unjucks.Templates;

namespace Unjucks.Cli.Tests;

/// <summary>The dashboard's view of agent slots: a death is listed once, whatever the slot reads while it restarts.</summary>
[TestFixture]
public sealed class JobDashboardTests
{
    [Test]
    public void ADeadAgentIsListedAndAlertedOnceWhileItsSlotRestartsAndAfter()
    {
        var dashboard = new JobDashboard(Stopwatch.GetTimestamp(), agents: 2);

        // Slot 1: pid 101, then 0 for three snapshots (waiting for its replacement), then 202; slot 0 stays 100.
        var slot1 = new[] { 101, 101, 0, 0, 0, 202, 202 };
        JobSnapshot last = null!;
        foreach (var pid in slot1)
        {
            last = dashboard.Snapshot(Progress(100, pid)); // every snapshot taken, in order (not Select(...).Last(), which runs only the last)
        }

        var dead = last.Agents.Where(a => a.State == "dead").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(dead.Select(a => (a.Slot, a.Pid)), Is.EqualTo(new[] { (1, 101) }), "one dead line, for the pid that died");
            Assert.That(last.Alerts.Where(a => a.Severity == AlertSeverity.Critical).Select(a => a.Message),
                Is.EqualTo(new[] { "agent 1 (pid 101) died; its tasks ran again on the others and the slot was restarted" }));
            Assert.That(last.Agents.Where(a => a.State != "dead").Select(a => (a.Slot, a.Pid, a.State)),
                Is.EqualTo(new[] { (0, 100, "running"), (1, 202, "running") }));
        });
    }

    [Test]
    public void ASlotThatReadsZeroShowsRestartingWithoutADeathBeforeItsFirstAgent()
    {
        var dashboard = new JobDashboard(Stopwatch.GetTimestamp(), agents: 2);

        var first = dashboard.Snapshot(Progress(100, 0));
        var second = dashboard.Snapshot(Progress(100, 101));

        Assert.That(first.Agents.Select(a => a.State), Is.EqualTo(new[] { "running", "restarting" }));
        Assert.That(second.Agents.Select(a => (a.Pid, a.State)), Is.EqualTo(new[] { (100, "running"), (101, "running") }));
        Assert.That(second.Alerts, Is.Empty, "a slot's first agent is not a death");
    }

    private static RenderJobProgress Progress(int pid0, int pid1) =>
        new(TimeSpan.FromSeconds(1), Completed: 5, Total: 10, Failed: 0, InFlight: 5, [pid0, pid1], [3, 2]);
}

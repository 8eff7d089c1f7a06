using Spectre.Console.Testing;
using Unjucks.Cli.Commands;
using Unjucks.Cli.Engine;
using Unjucks.Cli.Views;
using Unjucks.Templates;
using Unjucks.Agents;

namespace Unjucks.Cli.Tests;

[TestFixture]
public sealed class DashboardViewTests
{
    [Test]
    public void DashboardShowsOneRowPerAgentWithPidStateTasksAndSteals()
    {
        var console = new TestConsole().Width(140);
        var snapshot = FakeJobEngine.Snapshot(3, completed: 60, total: 120, failed: 2,
            new JobAlert(AlertSeverity.Critical, "agent 2 (pid 40002) missed 3 heartbeats; re-leasing 4 tasks"));

        console.Write(DashboardView.Render("unjucks-perf run", snapshot));

        var lines = console.Output.Split('\n');
        Assert.Multiple(() =>
        {
            for (var slot = 0; slot < 3; slot++)
            {
                var pid = (40000 + slot).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var row = lines.SingleOrDefault(l => l.Contains(pid, StringComparison.Ordinal) && !l.Contains("CRITICAL", StringComparison.Ordinal));
                Assert.That(row, Is.Not.Null, $"a row for agent pid {pid} in:\n{console.Output}");
                Assert.That(row, Does.Contain(slot == 2 ? "stealing" : "running"));
                Assert.That(row, Does.Contain(" 20 "), "tasks done 60/3");
                Assert.That(row, Does.Contain($" {slot} "), "steals");
            }

            Assert.That(console.Output, Does.Contain("321.5 ops/s"));
            Assert.That(console.Output, Does.Contain("4.25 ms"));
            Assert.That(console.Output, Does.Contain("48.0 MB"));
            Assert.That(console.Output, Does.Contain("CRITICAL agent 2 (pid 40002) missed 3 heartbeats"));
            Assert.That(console.Output, Does.Contain("60/120 (50.0%)"));
        });
    }

    [Test]
    public void DashboardBeforeTheFirstSnapshotSaysItIsStarting()
    {
        var console = new TestConsole();

        console.Write(DashboardView.Render("unjucks-perf run", null));

        Assert.That(console.Output, Does.Contain("starting agents"));
    }

    [Test]
    public void DashboardDuringDiscoveryHasNoTotalYet()
    {
        var console = new TestConsole().Width(140);

        console.Write(DashboardView.Render("unjucks-perf run", FakeJobEngine.Snapshot(2, completed: 0, total: 0)));

        Assert.That(console.Output, Does.Contain("discovering templates"));
    }

    [Test]
    public async Task LiveJobViewOnATerminalEndsWithTheFinalDashboard()
    {
        var console = new TestConsole().Width(140);
        console.Profile.Capabilities.Interactive = true;
        using var output = new StringWriter();
        using var error = new StringWriter();
        var services = new FakeServices { OutputIsTerminal = true };
        var context = new CliContext(services, output, error, console);
        var request = new JobRequest(2, [], "/tmp/unused", RenderMode.Threads, null);

        var summary = await JobView.RunAsync(context, services.Engine, request, "live test", live: true, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(summary.Agents, Is.EqualTo(2));
            Assert.That(console.Output, Does.Contain("live test"));
            Assert.That(console.Output, Does.Contain("40000"));
            Assert.That(console.Output, Does.Contain("40001"));
            Assert.That(console.Output, Does.Contain($"{FakeJobEngine.TemplateCount}/{FakeJobEngine.TemplateCount} (100.0%)"));
            Assert.That(output.ToString(), Is.Empty, "live mode writes through the console, not plain lines");
        });
    }

    [Test]
    public void ProgressLineCarriesEveryMetric()
    {
        var line = ProgressLine.Format("run", FakeJobEngine.Snapshot(4, 40, 120, 1, new JobAlert(AlertSeverity.Warning, "memory above soft budget")));

        Assert.That(line, Is.EqualTo("[   1.5s] run: 40/120 done (1 failed) | 321.5 ops/s | p95 4.25 ms | queue 80 | mem 48.0 MB | agents 4/4 alive | WARNING: memory above soft budget"));
    }

    [TestCase(0.0000005, "500 ns")]
    [TestCase(0.0000123, "12.3 µs")]
    [TestCase(0.00456, "4.56 ms")]
    [TestCase(2.1, "2.10 s")]
    public void DurationsPickAReadableUnit(double seconds, string expected)
    {
        Assert.That(Format.Duration(TimeSpan.FromSeconds(seconds)), Is.EqualTo(expected));
    }
}

using System.Text.Json;
using Spectre.Console.Testing;
using Unjucks.Agents;
using Unjucks.Cli.Engine;
using Unjucks.Cli.Views;

namespace Unjucks.Cli.Tests;

/// <summary><c>--adaptive</c> on <c>run</c> and <c>scale</c>, and how the adaptive count shows on the dashboard, the
/// progress lines, the summary and the scaling report.</summary>
[TestFixture]
public sealed class AdaptiveOptionTests
{
    [TestCase(new[] { "--adaptive", "2..6" }, 2, 6, TestName = "run --adaptive 2..6")]
    [TestCase(new[] { "--adaptive" }, 1, 4, TestName = "run --adaptive: 1..the default 4 agents")]
    [TestCase(new[] { "--agents", "6", "--adaptive" }, 1, 6, TestName = "run --agents 6 --adaptive: 1..6")]
    public async Task RunPassesTheRangeToTheEngineAndSummarizesWhereItSettled(string[] options, int min, int max)
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };
        services.Engine.OperationsPerSecond = n => n == 3 ? 500 : 100; // the fake settles at the best count: 3.

        var run = await CliRun.InvokeAsync(services, ["run", "--out", "out", .. options]);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var request = services.Engine.Requests.Single();
        Assert.Multiple(() =>
        {
            Assert.That(request.Concurrency, Is.Not.Null);
            Assert.That(request.Concurrency!.MinAgents, Is.EqualTo(min));
            Assert.That(request.Concurrency.MaxAgents, Is.EqualTo(max));
            Assert.That(request.AgentsStarted, Is.EqualTo(max), "the job starts the range's maximum");
            Assert.That(run.Out, Does.Contain($"with adaptive {min}..{max} agents"));
            Assert.That(run.Out, Does.Contain($"settled at 3 of {min}..{max}"));
            Assert.That(run.Out, Does.Contain($"start at {min} (initial count)"));
            Assert.That(run.Out, Does.Contain($"{min} -> 3 (settled at 3)"));
        });
    }

    [Test]
    public async Task RunMemoryBudgetPassesTheBytesToTheEngineAndTheSummaryShowsTheBudgetAndTheRounds()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };

        var run = await CliRun.InvokeAsync(services, "run", "--out", "out", "--memory-budget", "512");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(services.Engine.Requests.Single().MemoryBudgetBytes, Is.EqualTo(512L << 20));
            Assert.That(run.Out, Does.Contain("512.0 MB: agents measured at most 400.0 MB, 1 coordinated GC round(s)"));
        });
    }

    [Test]
    public async Task RunWithoutAdaptiveAsksForAFixedCount()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };

        var run = await CliRun.InvokeAsync(services, "run", "--out", "out", "--agents", "3");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var request = services.Engine.Requests.Single();
        Assert.Multiple(() =>
        {
            Assert.That(request.Concurrency, Is.Null);
            Assert.That(request.AgentsStarted, Is.EqualTo(3));
            Assert.That(run.Out, Does.Not.Contain("Adaptive agent count"));
        });
    }

    [Test]
    public async Task ScaleRunsTheFixedTableThenOneAdaptiveRunAndReportsItBesideTheTable()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };
        services.Engine.OperationsPerSecond = n => n switch { 1 => 100, 2 => 200, _ => 150 };

        var run = await CliRun.InvokeAsync(services, "scale", "--agents", "1,2,4", "--adaptive", "--out", "report", "--render-dir", "scratch", "--mode", "threads");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var requests = services.Engine.Requests.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(requests.Select(r => r.AgentsStarted), Is.EqualTo(new[] { 1, 2, 4, 4 }));
            Assert.That(requests.Take(3).Select(r => r.Concurrency), Is.All.Null);
            Assert.That(requests[3].Concurrency!.MinAgents, Is.EqualTo(1));
            Assert.That(requests[3].Concurrency!.MaxAgents, Is.EqualTo(4), "the default range ends at the largest --agents value");
            Assert.That(Directory.EnumerateFileSystemEntries(Path.Combine(work.Path, "scratch")), Is.Empty, "scratch outputs are removed");
        });

        var report = Path.Combine(work.Path, "report");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "scaling.json")));
        var adaptive = json.RootElement.GetProperty("adaptive");
        Assert.Multiple(() =>
        {
            Assert.That(json.RootElement.GetProperty("rows").GetArrayLength(), Is.EqualTo(3), "the adaptive run is not a row");
            Assert.That(adaptive.GetProperty("minAgents").GetInt32(), Is.EqualTo(1));
            Assert.That(adaptive.GetProperty("maxAgents").GetInt32(), Is.EqualTo(4));
            Assert.That(adaptive.GetProperty("settledAgents").GetInt32(), Is.EqualTo(2));
            Assert.That(adaptive.GetProperty("bestFixedAgents").GetInt32(), Is.EqualTo(2));
            Assert.That(adaptive.GetProperty("operationsPerSecond").GetDouble(), Is.EqualTo(190.0).Within(1e-9));
            Assert.That(adaptive.GetProperty("percentOfBest").GetDouble(), Is.EqualTo(95.0).Within(1e-9));
            Assert.That(adaptive.GetProperty("settledFixedPercentOfBest").GetDouble(), Is.EqualTo(100.0).Within(1e-9));
            Assert.That(adaptive.GetProperty("changes").EnumerateArray().Select(c => c.GetProperty("to").GetInt32()), Is.EqualTo(new[] { 1, 2 }));
        });

        var markdown = File.ReadAllText(Path.Combine(report, "scaling.md"));
        Assert.Multiple(() =>
        {
            Assert.That(markdown, Does.Contain("--adaptive 1..4"), "the command line in the report reproduces the run");
            Assert.That(markdown, Does.Contain("## Adaptive agent count"));
            Assert.That(markdown, Does.Contain("Settled at 2 agent(s) (of 1..4) after 1 change(s)"));
            Assert.That(markdown, Does.Contain("95.0% of the best fixed count (2 agents, 200.0 ops/s)"));
            Assert.That(markdown, Does.Contain("| 2.00 s | 1 | 2 | settled at 2 |"));
            Assert.That(run.Out, Does.Contain("scale adaptive: 1..4 agents"));
            Assert.That(run.Out, Does.Contain("settled at 2 agent(s)"));
        });
    }

    [Test]
    public async Task ScaleWithoutAdaptiveHasNoAdaptiveSection()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };

        var run = await CliRun.InvokeAsync(services, "scale", "--agents", "1,2", "--out", "report", "--render-dir", "scratch");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var report = Path.Combine(work.Path, "report");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "scaling.json")));
        Assert.Multiple(() =>
        {
            Assert.That(services.Engine.Requests.Select(r => r.Concurrency), Is.All.Null);
            Assert.That(json.RootElement.GetProperty("adaptive").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(File.ReadAllText(Path.Combine(report, "scaling.md")), Does.Not.Contain("Adaptive agent count"));
        });
    }

    [Test]
    public void DashboardAndProgressLineShowTheActiveCountTheLastDecisionAndMemory()
    {
        var snapshot = FakeJobEngine.Snapshot(4, completed: 60, total: 120) with
        {
            ActiveAgents = 2,
            ActiveAgentsHistory =
            [
                new ActiveAgentsChange(TimeSpan.Zero, 0, 4, "initial count"),
                new ActiveAgentsChange(TimeSpan.FromSeconds(1.5), 4, 2, "settled at 2 (812.0/s, the best of [1, 4])"),
            ],
            MemoryReservedBytes = 256L << 20,
            TasksWaitingForMemory = 3,
            MemoryBudgetBytes = 512L << 20,
            MemoryMeasuredBytes = 300L << 20,
            GcRounds = 2,
        };
        var console = new TestConsole().Width(200);

        console.Write(DashboardView.Render("unjucks-perf run", snapshot));
        var line = ProgressLine.Format("unjucks-perf run", snapshot);

        Assert.Multiple(() =>
        {
            Assert.That(console.Output, Does.Contain("Active agents 2 of 4"));
            Assert.That(console.Output, Does.Contain("last change at 1.50 s: 4 -> 2 (settled at 2 (812.0/s, the best of [1, 4])); 1 change(s)"));
            Assert.That(console.Output, Does.Contain("Memory budget 512.0 MB  measured 300.0 MB  reserved 256.0 MB  tasks waiting for memory 3  GC rounds 2"));
            Assert.That(line, Does.Contain("agents 4/4 alive, 2 active"));
            Assert.That(line, Does.Contain("budget 512.0 MB: measured 300.0 MB, reserved 256.0 MB, 3 waiting for memory, 2 GC round(s)"));
        });
    }

    [Test]
    public void AFixedCountWithoutABudgetAddsNothingToTheDashboard()
    {
        var snapshot = FakeJobEngine.Snapshot(2, completed: 1, total: 2);
        var console = new TestConsole().Width(200);

        console.Write(DashboardView.Render("unjucks-perf run", snapshot));

        Assert.Multiple(() =>
        {
            Assert.That(console.Output, Does.Not.Contain("Active agents"));
            Assert.That(console.Output, Does.Not.Contain("Memory budget"));
            Assert.That(ProgressLine.Format("t", snapshot), Does.Not.Contain("active").And.Not.Contain("budget"));
        });
    }
}

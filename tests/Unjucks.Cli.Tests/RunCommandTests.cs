using Unjucks.Cli.Engine;
using Unjucks.Templates;

namespace Unjucks.Cli.Tests;

[TestFixture]
public sealed class RunCommandTests
{
    [Test]
    public async Task NoArgumentsRendersBundledSamplesWithFourAgentsIntoATempFolderAndSaysWhere()
    {
        var services = new FakeServices();

        var run = await CliRun.InvokeAsync(services, "run");

        Assert.That(services.Engine.Requests, Has.Count.EqualTo(1), run.ToString());
        var request = services.Engine.Requests.Single();
        try
        {
            Assert.Multiple(() =>
            {
                Assert.That(run.ExitCode, Is.Zero, run.ToString());
                Assert.That(request.Agents, Is.EqualTo(4));
                Assert.That(request.Mode, Is.EqualTo(RenderMode.Processes));
                Assert.That(request.UsesBundledSamples, Is.True);
                Assert.That(request.VariablesFile, Is.Null);
                Assert.That(request.OutputDirectory, Does.StartWith(Path.GetTempPath()));
                Assert.That(Directory.Exists(request.OutputDirectory), Is.True, "the tool creates the output directory");
                Assert.That(run.Out, Does.Contain("the bundled samples"));
                Assert.That(run.Out, Does.Contain($"Outputs are in {request.OutputDirectory}"));
            });
        }
        finally
        {
            Directory.Delete(request.OutputDirectory, recursive: true);
        }
    }

    [Test]
    public async Task SuccessExits0WithSummaryAndPlainProgressLines()
    {
        using var work = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(work.Path, "tpl-a"));
        Directory.CreateDirectory(Path.Combine(work.Path, "tpl-b"));
        File.WriteAllText(Path.Combine(work.Path, "vars.json"), "{}");
        var services = new FakeServices { CurrentDirectory = work.Path };

        var run = await CliRun.InvokeAsync(services,
            "run", "--agents", "3", "--templates", "tpl-a", "tpl-b", "--out", "rendered", "--mode", "threads", "--vars", "vars.json");

        var request = services.Engine.Requests.Single();
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(run.Error, Is.Empty, run.ToString());
            Assert.That(request.Agents, Is.EqualTo(3));
            Assert.That(request.Mode, Is.EqualTo(RenderMode.Threads));
            Assert.That(request.TemplateDirectories, Is.EqualTo(new[] { Path.Combine(work.Path, "tpl-a"), Path.Combine(work.Path, "tpl-b") }));
            Assert.That(request.OutputDirectory, Is.EqualTo(Path.Combine(work.Path, "rendered")));
            Assert.That(request.VariablesFile, Is.EqualTo(Path.Combine(work.Path, "vars.json")));
            Assert.That(Directory.Exists(request.OutputDirectory), Is.True);
            // Not a terminal: plain progress lines, at least the final one, then the summary table.
            Assert.That(run.Out, Does.Contain($"120/{FakeJobEngine.TemplateCount} done"), run.ToString());
            Assert.That(run.Out, Does.Contain("321.5 ops/s"), run.ToString());
            Assert.That(run.Out, Does.Contain("Summary"), run.ToString());
            Assert.That(run.Out, Does.Contain("120 total, 120 rendered, 0 failed"), run.ToString());
            Assert.That(run.Out, Does.Contain("Load coefficient of variation"), run.ToString());
            Assert.That(run.Out, Does.Contain("discovery 5.00 ms"), run.ToString());
        });
    }

    [Test]
    public async Task OnATerminalTheDashboardIsDrawnInsteadOfPlainLines()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path, OutputIsTerminal = true };

        var run = await CliRun.InvokeAsync(services, "run", "--agents", "2", "--out", "o");

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(run.Out, Does.Contain("40000").And.Contain("40001"), run.ToString());
            Assert.That(run.Out, Does.Contain("Agents").And.Contain("Steals"), run.ToString());
            Assert.That(run.Out, Does.Not.Contain("120/120 done |"), "no plain progress line on a terminal");
            Assert.That(run.Out, Does.Contain("Summary"), run.ToString());
        });
    }

    [Test]
    public async Task NoDashboardOnATerminalPrintsPlainLines()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path, OutputIsTerminal = true };

        var run = await CliRun.InvokeAsync(services, "run", "--agents", "2", "--out", "o", "--no-dashboard");

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(run.Out, Does.Contain("unjucks-perf run: 120/120 done |"), run.ToString());
        });
    }

    [Test]
    public async Task FailedTemplatesExit1AndAreListedWithTheirMessages()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };
        services.Engine.Failures = _ =>
        [
            new TemplateFailure("components/broken.liquid", "line 3: unexpected end of tag"),
            new TemplateFailure("pages/cycle.liquid", "dependency cycle: pages/cycle.liquid -> pages/other.liquid -> pages/cycle.liquid"),
        ];

        var run = await CliRun.InvokeAsync(services, "run", "--out", "o", "--no-dashboard");

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Out, Does.Contain("120 total, 118 rendered, 2 failed"), run.ToString());
            Assert.That(run.Out, Does.Contain("components/broken.liquid"), run.ToString());
            Assert.That(run.Out, Does.Contain("line 3: unexpected end of tag"), run.ToString());
            Assert.That(run.Out, Does.Contain("dependency cycle"), run.ToString());
            Assert.That(run.Out, Does.Contain("2 template(s) failed"), run.ToString());
        });
    }

    [Test]
    public async Task EngineExceptionIsOneLineOnStderrAndExit1()
    {
        var services = new ThrowingServices();

        var run = await CliRun.InvokeAsync(services, CancellationToken.None, "run", "--out", Path.Combine(Path.GetTempPath(), "unjucks-cli-tests-unused"));

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain("region could not be created: disk full"), run.ToString());
            Assert.That(run.Error, Does.Not.Contain("   at "), "no stack trace for a reported failure");
        });
    }

    [Test]
    public async Task CancellationExits130()
    {
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        var run = await CliRun.InvokeAsync(new FakeServices(), cancellation.Token, "run", "--out", Path.Combine(Path.GetTempPath(), "unjucks-cli-tests-cancelled"));
        if (Directory.Exists(Path.Combine(Path.GetTempPath(), "unjucks-cli-tests-cancelled")))
        {
            Directory.Delete(Path.Combine(Path.GetTempPath(), "unjucks-cli-tests-cancelled"), recursive: true);
        }

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(130), run.ToString());
            Assert.That(run.Error, Does.Contain("cancelled"), run.ToString());
        });
    }

    private sealed class ThrowingServices : ICliServices
    {
        private readonly FakeServices inner = new();

        public IJobEngine CreateJobEngine() => new ThrowingEngine();

        public IRegionInspector CreateRegionInspector() => inner.CreateRegionInspector();

        public IGcCoordinator CreateGcCoordinator() => inner.CreateGcCoordinator();

        public bool OutputIsTerminal => false;

        public string CurrentDirectory => inner.CurrentDirectory;

        public string ToolDirectory => inner.ToolDirectory;

        public Task<int> RunProcessAsync(ChildProcess process, CancellationToken cancellationToken) => inner.RunProcessAsync(process, cancellationToken);

        private sealed class ThrowingEngine : IJobEngine
        {
            public Task<JobSummary> RunAsync(JobRequest request, IProgress<JobSnapshot>? progress, CancellationToken cancellationToken)
            {
                Directory.Delete(request.OutputDirectory);
                return Task.FromException<JobSummary>(new InvalidOperationException("region could not be created: disk full"));
            }
        }
    }
}

using Unjucks.Cli.Commands;
using Unjucks.Cli.Engine;

namespace Unjucks.Cli.Tests;

/// <summary>The processes-to-threads fallback (while processes are unavailable) and --repeat, against the fake engine.</summary>
[TestFixture]
public sealed class ModeAndRepeatOptionTests
{
    [Test]
    public async Task WithoutModeAndWithoutProcessesRunFallsBackToThreadsWithANotice()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path, ProcessModeAvailable = false };

        var run = await CliRun.InvokeAsync(services, "run", "--out", "out");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(services.Engine.Requests.Single().Mode, Is.EqualTo(EngineMode.Threads));
        Assert.That(run.Out.Split('\n').Count(l => l.StartsWith("Note: agents as processes are not available", StringComparison.Ordinal)), Is.EqualTo(1), run.ToString());
    }

    [Test]
    public async Task ExplicitProcessesModeIsPassedOnEvenWhenUnavailable()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path, ProcessModeAvailable = false };

        var run = await CliRun.InvokeAsync(services, "scale", "--agents", "1", "--mode", "processes", "--out", "report");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(services.Engine.Requests.Single().Mode, Is.EqualTo(EngineMode.Processes));
        Assert.That(run.Out, Does.Not.Contain("Note: agents as processes"));
    }

    [Test]
    public async Task WithProcessesAvailableTheDefaultStaysProcesses()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };

        var run = await CliRun.InvokeAsync(services, "scale", "--agents", "1", "--out", "report");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(services.Engine.Requests.Single().Mode, Is.EqualTo(EngineMode.Processes));
    }

    [TestCase(new string[0], CommonOptions.DefaultSampleRepeat)]
    [TestCase(new[] { "--templates", "." }, 1)]
    [TestCase(new[] { "--repeat", "3" }, 3)]
    [TestCase(new[] { "-r", "7", "--templates", "." }, 7)]
    public async Task RepeatDefaultsToTheSampleRoundsOrOneForAGivenTree(string[] extra, int expected)
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };

        var run = await CliRun.InvokeAsync(services, ["run", "--out", "out", .. extra]);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(services.Engine.Requests.Single().Repeat, Is.EqualTo(expected));
    }

    [TestCase("0")]
    [TestCase("x")]
    [TestCase("10001")]
    public async Task BadRepeatIsAUsageError(string value)
    {
        var services = new FakeServices();

        var run = await CliRun.InvokeAsync(services, "run", "--repeat", value);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Error, Does.Contain("--repeat"), run.ToString());
        Assert.That(services.Engine.Requests, Is.Empty);
    }
}

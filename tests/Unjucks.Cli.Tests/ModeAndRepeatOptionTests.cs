using Unjucks.Cli.Commands;
using Unjucks.Cli.Engine;
using Unjucks.Templates;

namespace Unjucks.Cli.Tests;

/// <summary>--mode (default processes), --repeat, --template-timeout and --max-output, against the fake engine.</summary>
[TestFixture]
public sealed class ModeAndRepeatOptionTests
{
    [Test]
    public async Task RunWithoutModeIsProcessesAndModeThreadsIsThreads()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };

        var byDefault = await CliRun.InvokeAsync(services, "run", "--out", "out");
        var threads = await CliRun.InvokeAsync(services, "run", "--out", "out", "--mode", "threads");

        Assert.That(byDefault.ExitCode, Is.Zero, byDefault.ToString());
        Assert.That(threads.ExitCode, Is.Zero, threads.ToString());
        Assert.That(services.Engine.Requests.Select(r => r.Mode), Is.EqualTo(new[] { RenderMode.Processes, RenderMode.Threads }));
        Assert.That(byDefault.Out, Does.Contain("as processes into"), byDefault.ToString());
        Assert.That(byDefault.Out, Does.Not.Contain("Note:"), byDefault.ToString());
    }

    [Test]
    public async Task ScaleWithoutModeIsProcesses()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };

        var run = await CliRun.InvokeAsync(services, "scale", "--agents", "1", "--out", "report");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(services.Engine.Requests.Single().Mode, Is.EqualTo(RenderMode.Processes));
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

    [Test]
    public async Task TemplateLimitsAreTheLibrarysByDefaultAndGivenInSecondsAndMebibytes()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };

        await CliRun.InvokeAsync(services, "run", "--out", "out");
        var given = await CliRun.InvokeAsync(services, "run", "--out", "out", "--template-timeout", "30", "--max-output", "2");

        Assert.That(given.ExitCode, Is.Zero, given.ToString());
        Assert.That(services.Engine.Requests.Select(r => r.TemplateTimeout), Is.EqualTo(new TimeSpan?[] { null, TimeSpan.FromSeconds(30) }));
        Assert.That(services.Engine.Requests.Select(r => r.MaxOutputBytes), Is.EqualTo(new long?[] { null, 2L << 20 }));
    }

    [TestCase("--repeat", "0")]
    [TestCase("--repeat", "x")]
    [TestCase("--repeat", "10001")]
    [TestCase("--template-timeout", "0")]
    [TestCase("--template-timeout", "-5")]
    [TestCase("--template-timeout", "soon")]
    [TestCase("--template-timeout", "86401")]
    [TestCase("--max-output", "0")]
    [TestCase("--max-output", "4097")]
    public async Task AnOutOfRangeNumberIsAUsageError(string option, string value)
    {
        var services = new FakeServices();

        var run = await CliRun.InvokeAsync(services, "run", option, value);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Error, Does.Contain(option), run.ToString());
        Assert.That(services.Engine.Requests, Is.Empty, "the engine must not run on a usage error");
    }
}

namespace Unjucks.Cli.Tests;

[TestFixture]
public sealed class BenchCommandTests
{
    [Test]
    public async Task InsideTheRepositoryRunsTheBenchmarkProjectWithTheFilter()
    {
        using var repo = new TempDirectory();
        var project = Path.Combine(repo.Path, "bench", "Unjucks.Benchmarks", "Unjucks.Benchmarks.csproj");
        Directory.CreateDirectory(Path.GetDirectoryName(project)!);
        File.WriteAllText(project, "<Project />");
        var deep = Path.Combine(repo.Path, "src", "Unjucks.Cli");
        Directory.CreateDirectory(deep);
        var services = new FakeServices { CurrentDirectory = deep, ProcessExitCode = 7 };

        var run = await CliRun.InvokeAsync(services, "bench", "*MpmcQueue*");

        var process = services.Processes.Single();
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(7), "the benchmark runner's exit code is the tool's");
            Assert.That(process.FileName, Is.EqualTo("dotnet"));
            Assert.That(process.Arguments, Is.EqualTo(new[] { "run", "-c", "Release", "--project", project, "--", "--filter", "*MpmcQueue*", "--inProcess" }));
            Assert.That(process.WorkingDirectory, Is.EqualTo(repo.Path));
        });
    }

    [Test]
    public async Task OutsideARepositoryUsesAPublishedRunnerBesideTheTool()
    {
        using var nowhere = new TempDirectory();
        using var tool = new TempDirectory();
        File.WriteAllText(Path.Combine(tool.Path, "Unjucks.Benchmarks.dll"), string.Empty);
        var services = new FakeServices { CurrentDirectory = nowhere.Path, ToolDirectory = tool.Path };

        var run = await CliRun.InvokeAsync(services, "bench");

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(services.Processes.Single().Arguments, Is.EqualTo(new[] { Path.Combine(tool.Path, "Unjucks.Benchmarks.dll"), "--filter", "*", "--inProcess" }));
        });
    }

    [Test]
    public async Task NoBenchmarksFoundIsAClearError()
    {
        using var nowhere = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = nowhere.Path, ToolDirectory = nowhere.Path };

        var run = await CliRun.InvokeAsync(services, "bench");

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain("cannot find the benchmarks").And.Contain("inside a clone of the repository"));
            Assert.That(services.Processes, Is.Empty);
        });
    }
}

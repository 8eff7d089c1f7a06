using System.CommandLine;

namespace Unjucks.Cli.Commands;

/// <summary>
/// <c>bench</c>: runs the BenchmarkDotNet suites as a child process. The tool does not reference bench/ (nothing
/// in src/ does): it runs the project from the repository that holds the current directory, or a published
/// runner installed beside the tool.
/// </summary>
internal static class BenchCommand
{
    internal const string ProjectRelativePath = "bench/Unjucks.Benchmarks/Unjucks.Benchmarks.csproj";
    internal const string PublishedName = "Unjucks.Benchmarks";

    public static Command Create(CliContext context)
    {
        var filter = new Argument<string>("FILTER")
        {
            Description = "BenchmarkDotNet filter (glob over full benchmark names), e.g. '*MpmcQueue*'.",
            DefaultValueFactory = _ => "*",
        };
        var command = new Command("bench", "Run the BenchmarkDotNet suites (from the repository, or a published runner beside the tool).") { filter };
        command.SetAction((parse, cancellationToken) => ExecuteAsync(context, parse.GetValue(filter)!, cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CliContext context, string filter, CancellationToken cancellationToken)
    {
        var process = Locate(context.Services.CurrentDirectory, context.Services.ToolDirectory, filter)
            ?? throw new CliException(
                $"cannot find the benchmarks: no {ProjectRelativePath} in {context.Services.CurrentDirectory} or a folder above it, " +
                $"and no published {PublishedName} beside the tool in {context.Services.ToolDirectory}. " +
                "Run 'unjucks-perf bench' inside a clone of the repository.");
        context.Out.WriteLine($"Running: {process.FileName} {string.Join(" ", process.Arguments)}");
        return await context.Services.RunProcessAsync(process, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The command that runs the benchmarks with <paramref name="filter"/>, or null when none is found. The suites
    /// run in-process inside the benchmark runner (<c>--inProcess</c>: no per-benchmark child builds; the published
    /// single-file runner adds it itself). The runner is a separate program because nothing under src/ may
    /// reference bench/ (layering).
    /// </summary>
    internal static ChildProcess? Locate(string currentDirectory, string toolDirectory, string filter)
    {
        for (var directory = new DirectoryInfo(currentDirectory); directory is not null; directory = directory.Parent)
        {
            var project = Path.Combine(directory.FullName, ProjectRelativePath);
            if (File.Exists(project))
            {
                return new ChildProcess("dotnet", ["run", "-c", "Release", "--project", project, "--", "--filter", filter, "--inProcess"], directory.FullName);
            }
        }

        var executable = Path.Combine(toolDirectory, OperatingSystem.IsWindows() ? PublishedName + ".exe" : PublishedName);
        if (File.Exists(executable))
        {
            return new ChildProcess(executable, ["--filter", filter], currentDirectory);
        }

        var assembly = Path.Combine(toolDirectory, PublishedName + ".dll");
        if (File.Exists(assembly))
        {
            return new ChildProcess("dotnet", [assembly, "--filter", filter, "--inProcess"], currentDirectory);
        }

        return null;
    }
}

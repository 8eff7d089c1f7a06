using Unjucks.Cli.Engine;

namespace Unjucks.Cli;

/// <summary>A child process for the tool to start with the tool's own standard streams.</summary>
/// <param name="FileName">Executable to start (e.g. "dotnet").</param>
/// <param name="Arguments">Arguments, each passed as one argument (no shell quoting).</param>
/// <param name="WorkingDirectory">Working directory of the child.</param>
public sealed record ChildProcess(string FileName, IReadOnlyList<string> Arguments, string WorkingDirectory);

/// <summary>
/// Everything the tool takes from its surroundings: the engine, the region inspector, the GC coordinator, the
/// terminal, the file system position and child processes. <see cref="Cli.CreateDefaultServices"/> gives the
/// real ones; tests pass fakes.
/// </summary>
public interface ICliServices
{
    /// <summary>The job engine for <c>run</c> and <c>scale</c>. Throws <see cref="NotSupportedException"/> when none is wired.</summary>
    IJobEngine CreateJobEngine();

    /// <summary>The region inspector for <c>inspect</c> and <c>gc</c>. Throws <see cref="NotSupportedException"/> when none is wired.</summary>
    IRegionInspector CreateRegionInspector();

    /// <summary>The GC coordinator for <c>gc</c>. Throws <see cref="NotSupportedException"/> when none is wired.</summary>
    IGcCoordinator CreateGcCoordinator();

    /// <summary>True when the output writer is an interactive terminal: live views instead of plain lines.</summary>
    bool OutputIsTerminal { get; }

    /// <summary>The directory relative paths are resolved against.</summary>
    string CurrentDirectory { get; }

    /// <summary>The directory the tool itself is installed in (where a published benchmark runner may sit).</summary>
    string ToolDirectory { get; }

    /// <summary>Starts <paramref name="process"/> with inherited standard streams and returns its exit code.</summary>
    /// <param name="process">What to start.</param>
    /// <param name="cancellationToken">Kills the child (and its tree) when cancelled.</param>
    Task<int> RunProcessAsync(ChildProcess process, CancellationToken cancellationToken);
}

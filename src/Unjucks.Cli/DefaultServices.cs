using System.Diagnostics;
using Unjucks.Cli.Adapters;
using Unjucks.Cli.Engine;

namespace Unjucks.Cli;

/// <summary>
/// The real surroundings of the tool. The job engine runs threads mode (<see cref="ThreadsJobEngine"/>); the region
/// inspector reads the per-user region directory (<see cref="RegionInspector"/>), and the GC coordinator runs its
/// rounds there (<see cref="GcCoordinatorAdapter"/>); processes mode waits for the agent-process engine.
/// </summary>
internal sealed class DefaultServices : ICliServices
{
    public IJobEngine CreateJobEngine() => new EngineSelector();

    // TEMPORARY FALLBACK SWITCH: false while the agent-process engine is not wired, so that 'run' and 'scale' without
    // --mode (default: processes) run as threads and say so. When EngineSelector routes processes mode to the real
    // engine, delete this line (the interface's default is true) and the fallback goes with it.
    public bool ProcessModeAvailable => false;

    public IRegionInspector CreateRegionInspector() => new RegionInspector();

    public IGcCoordinator CreateGcCoordinator() => new GcCoordinatorAdapter();

    public bool OutputIsTerminal => !Console.IsOutputRedirected;

    public string CurrentDirectory => Environment.CurrentDirectory;

    public string ToolDirectory => AppContext.BaseDirectory;

    public async Task<int> RunProcessAsync(ChildProcess process, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(process.FileName)
        {
            WorkingDirectory = process.WorkingDirectory,
            UseShellExecute = false,
        };
        foreach (var argument in process.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var child = Process.Start(info)
            ?? throw new InvalidOperationException($"could not start '{process.FileName}'.");
        try
        {
            await child.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            throw;
        }

        return child.ExitCode;
    }
}

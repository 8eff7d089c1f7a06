using System.Diagnostics;
using Unjucks.Cli.Adapters;
using Unjucks.Cli.Engine;

namespace Unjucks.Cli;

/// <summary>
/// The real surroundings of the tool. The job engine (<see cref="TemplateJobEngine"/>) runs agents as processes (the
/// default) or as threads of this process, over the same region and engine; the region inspector reads the per-user region directory
/// (<see cref="RegionInspector"/>), and the GC coordinator runs its rounds there (<see cref="GcCoordinatorAdapter"/>).
/// </summary>
internal sealed class DefaultServices : ICliServices
{
    public IJobEngine CreateJobEngine() => new TemplateJobEngine();

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

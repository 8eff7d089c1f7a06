using System.Diagnostics;
using Unjucks.Cli.Engine;

namespace Unjucks.Cli;

/// <summary>
/// The real surroundings of the tool. The engine seams are not wired yet: the adapters over Unjucks.Agents and
/// Unjucks.Templates replace the three Create* methods.
/// </summary>
internal sealed class DefaultServices : ICliServices
{
    internal const string NotWiredMessage =
        "engine not wired: this build of unjucks-perf has no job engine, region inspector or GC coordinator yet " +
        "(src/Unjucks.Cli/DefaultServices.cs). 'bench' works; the other commands need the engine adapters.";

    public IJobEngine CreateJobEngine() => throw new NotSupportedException(NotWiredMessage);

    public IRegionInspector CreateRegionInspector() => throw new NotSupportedException(NotWiredMessage);

    public IGcCoordinator CreateGcCoordinator() => throw new NotSupportedException(NotWiredMessage);

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

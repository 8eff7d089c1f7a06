// ProcessesLauncher: how the coordinator starts an agent process: this very tool with the hidden 'agent'
// subcommand. Three ways the tool can be running:
//   - its apphost (bin/unjucks-perf, or the 'unjucks-perf' shim of an installed dotnet tool): Environment.ProcessPath
//     is that executable; start it again;
//   - 'dotnet unjucks-perf.dll' (dotnet run, dotnet exec): ProcessPath is the dotnet host; start the host with this
//     assembly's path (unjucks-perf.dll, next to its runtimeconfig.json);
//   - loaded into another process (the tests' testhost): ProcessPath is whatever hosts it; start the dotnet host
//     (this process's if it is one, else DOTNET_HOST_PATH, else 'dotnet' on the PATH) with this assembly's path.
using System.Diagnostics;
using Unjucks.Agents.Processes;
using Unjucks.Cli.Commands;

namespace Unjucks.Cli.Adapters;

/// <summary>Builds the command line of an agent process.</summary>
internal static class ProcessesLauncher
{
    /// <summary>The start info of agent <paramref name="launch"/>, given the job's agent arguments.</summary>
    /// <param name="launch">What the coordinator passes (region, directory, session, index).</param>
    /// <param name="jobArguments">--templates, --out, --vars, --strict, --repeat for the handler.</param>
    public static ProcessStartInfo Create(AgentLaunch launch, IReadOnlyList<string> jobArguments)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var (fileName, prefix) = Command();
        var info = new ProcessStartInfo(fileName) { UseShellExecute = false };
        foreach (var argument in prefix)
        {
            info.ArgumentList.Add(argument);
        }

        info.ArgumentList.Add(AgentCommand.Name);
        // The launch options first: the handler's --templates takes every following token up to the next known option.
        foreach (var argument in launch.ToArguments())
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var argument in jobArguments)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }

    /// <summary>The executable and the arguments before the subcommand.</summary>
    internal static (string FileName, IReadOnlyList<string> Prefix) Command()
    {
        var assembly = typeof(ProcessesLauncher).Assembly.Location;
        var toolName = Path.GetFileNameWithoutExtension(assembly);
        var processPath = Environment.ProcessPath;
        if (processPath is not null && string.Equals(Path.GetFileNameWithoutExtension(processPath), toolName, StringComparison.Ordinal))
        {
            return (processPath, []);
        }

        var host = processPath is not null && IsDotnetHost(processPath)
            ? processPath
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } fromEnvironment ? fromEnvironment : "dotnet";
        return (host, [assembly]);
    }

    private static bool IsDotnetHost(string path) =>
        string.Equals(Path.GetFileNameWithoutExtension(path), "dotnet", StringComparison.Ordinal);
}

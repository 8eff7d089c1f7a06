// AgentProgram: how a processes-mode job starts an agent: this very tool again (its Main sees the session's
// arguments and serves as an agent, RenderJob.RunAgentAsync). Three ways the tool can be running:
//   - its apphost (bin/unjucks-perf, or the 'unjucks-perf' shim of an installed dotnet tool): Environment.ProcessPath
//     is that executable; start it again;
//   - 'dotnet unjucks-perf.dll' (dotnet run, dotnet exec): ProcessPath is the dotnet host; start the host with this
//     assembly's path (unjucks-perf.dll, next to its runtimeconfig.json);
//   - loaded into another process (the tests' testhost): ProcessPath is whatever hosts it; start the dotnet host
//     (this process's if it is one, else DOTNET_HOST_PATH, else 'dotnet' on the PATH) with this assembly's path.
using System.Diagnostics;

namespace Unjucks.Cli.Adapters;

/// <summary>Builds the command line of an agent process (the session appends its own arguments).</summary>
internal static class AgentProgram
{
    /// <summary>The start info of this build's tool.</summary>
    public static ProcessStartInfo StartInfo()
    {
        var (fileName, prefix) = Command();
        var info = new ProcessStartInfo(fileName) { UseShellExecute = false };
        foreach (var argument in prefix)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }

    /// <summary>The executable and the arguments before the session's.</summary>
    internal static (string FileName, IReadOnlyList<string> Prefix) Command()
    {
        var assembly = typeof(AgentProgram).Assembly.Location;
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

// HelperProcess: how the cross-process benchmarks start their helper programs (Unjucks.SharedMemory.TestAgent,
// Unjucks.AgentTestHost), which ship beside the benchmarks:
//   - an ordinary build: <name>.dll beside this program, run by the dotnet host (DOTNET_HOST_PATH, this process if it
//     is the host, else 'dotnet' on the PATH);
//   - bench/publish.sh: <name> as its own self-contained single file beside the published benchmarks (no .dll, no .NET
//     needed), run directly.
// AppContext.BaseDirectory is this program's folder in both cases (Assembly.Location is empty in a single file).
using System.Diagnostics;

namespace Unjucks.Benchmarks.Harness;

/// <summary>Start information for a helper program shipped beside the benchmarks.</summary>
internal static class HelperProcess
{
    /// <summary>The start information of helper <paramref name="name"/> with <paramref name="arguments"/>.</summary>
    public static ProcessStartInfo StartInfo(string name, IEnumerable<string> arguments)
    {
        string directory = AppContext.BaseDirectory;
        string dll = Path.Combine(directory, name + ".dll");
        string executable = Path.Combine(directory, name);
        ProcessStartInfo info;
        if (!File.Exists(dll) && File.Exists(executable))
        {
            info = new ProcessStartInfo(executable);
        }
        else
        {
            info = new ProcessStartInfo(DotnetHost());
            info.ArgumentList.Add(dll);
        }

        info.UseShellExecute = false;
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }

    private static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        string? self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}

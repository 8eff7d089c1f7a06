using System.Diagnostics;
using System.Reflection;
using Unjucks.Agents.Processes;

namespace Unjucks.Agents.Tests.Processes;

/// <summary>
/// Launches tests/Unjucks.AgentTestHost as a job agent (<c>dotnet Unjucks.AgentTestHost.dll launch-args --mode M</c>).
/// The dll is found beside the test assembly, or in the host project's bin folder for this configuration (the test
/// project builds it through a ProjectReference with ReferenceOutputAssembly=false).
/// </summary>
internal static class AgentTestHostLauncher
{
    private const string Dll = "Unjucks.AgentTestHost.dll";

    /// <summary>The deterministic result the host computes for task <paramref name="id"/> (mirror of its TestHandler.ResultOf).</summary>
    public static long ResultOf(long id) => (id * 1_000_003) ^ 0x5DEECE66DL;

    public static Func<AgentLaunch, ProcessStartInfo> Launcher(string mode = "f", int workUs = 0, Func<int, string>? modeOf = null) => launch =>
    {
        var psi = new ProcessStartInfo(DotnetHost());
        psi.ArgumentList.Add(HostDll());
        foreach (string a in launch.ToArguments())
        {
            psi.ArgumentList.Add(a);
        }

        psi.ArgumentList.Add("--mode");
        psi.ArgumentList.Add(modeOf?.Invoke(launch.AgentIndex) ?? mode);
        psi.ArgumentList.Add("--work-us");
        psi.ArgumentList.Add(workUs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return psi;
    };

    /// <summary>Options for the tests: a private directory, short intervals, generous hang guards.</summary>
    public static JobCoordinatorOptions Options(int agents, string directory) => new()
    {
        AgentCount = agents,
        Directory = directory,
        StartupTimeout = TimeSpan.FromSeconds(60),
        StopTimeout = TimeSpan.FromSeconds(10),
        ProgressInterval = TimeSpan.FromMilliseconds(5),
        DequeCapacity = 256,
    };

    public static string NewDirectory()
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("agent processes need Linux (shared mappings, flock, futex)");
        }

        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        string dir = Path.Combine(root, "unjucks-proc-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return dir;
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

    private static string HostDll()
    {
        string here = AppContext.BaseDirectory;
        string beside = Path.Combine(here, Dll);
        if (File.Exists(beside) && File.Exists(Path.ChangeExtension(beside, ".runtimeconfig.json")))
        {
            return beside;
        }

        string configuration = typeof(AgentTestHostLauncher).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        string tfm = new DirectoryInfo(here).Name;
        for (var dir = new DirectoryInfo(here); dir is not null; dir = dir.Parent)
        {
            foreach (string candidate in new[]
            {
                Path.Combine(dir.FullName, "Unjucks.AgentTestHost", "bin", configuration, tfm, Dll),
                Path.Combine(dir.FullName, "tests", "Unjucks.AgentTestHost", "bin", configuration, tfm, Dll),
            })
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException($"{Dll} was not found beside {here} nor in tests/Unjucks.AgentTestHost/bin/{configuration}/{tfm}. Build the test project (it references the host project).", Dll);
    }
}

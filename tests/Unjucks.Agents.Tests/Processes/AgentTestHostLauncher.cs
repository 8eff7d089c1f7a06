using System.Diagnostics;
using Unjucks.Agents.Processes;
using Unjucks.TestSupport;

namespace Unjucks.Agents.Tests.Processes;

/// <summary>
/// Launches tests/Unjucks.AgentTestHost as a job agent (<c>dotnet Unjucks.AgentTestHost.dll launch-args --mode M</c>).
/// The dll is found by <see cref="ChildProcess.LocateDll"/> (the test project builds the host through a ProjectReference
/// with ReferenceOutputAssembly=false).
/// </summary>
internal static class AgentTestHostLauncher
{
    /// <summary>The deterministic result the host computes for task <paramref name="id"/> (mirror of its TestHandler.ResultOf).</summary>
    public static long ResultOf(long id) => (id * 1_000_003) ^ 0x5DEECE66DL;

    public static Func<AgentLaunch, ProcessStartInfo> Launcher(string mode = "f", int workUs = 0, Func<int, string>? modeOf = null) => launch =>
    {
        ProcessStartInfo psi = ChildProcess.StartInfo("Unjucks.AgentTestHost", launch.ToArguments());
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
}

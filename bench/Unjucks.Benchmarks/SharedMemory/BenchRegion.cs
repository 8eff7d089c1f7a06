using System.Diagnostics;
using Unjucks.Benchmarks.Harness;
using System.Runtime.Versioning;
using Unjucks.SharedMemory;

namespace Unjucks.Benchmarks.SharedMemory;

/// <summary>A throw-away region directory plus TestAgent child processes for the SharedMemory benchmarks.</summary>
[SupportedOSPlatform("linux")]
internal sealed class BenchRegion : IDisposable
{
    private readonly List<Process> _children = [];

    public BenchRegion(SharedRegionOptions? options = null)
    {
        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        DirectoryPath = Path.Combine(root, "unjucks-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(DirectoryPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Name = "bench";
        Region = SharedRegion.CreateOrOpen(Name, (options ?? new SharedRegionOptions()) with { Directory = DirectoryPath });
    }

    public string DirectoryPath { get; }

    public string Name { get; }

    public SharedRegion Region { get; }

    /// <summary>Starts the test agent (Unjucks.SharedMemory.TestAgent, beside this program: <see cref="HelperProcess"/>) with <paramref name="args"/>.</summary>
    public Process StartAgent(bool redirectStdin, params string[] args)
    {
        var start = HelperProcess.StartInfo("Unjucks.SharedMemory.TestAgent", args);
        start.RedirectStandardOutput = true;
        start.RedirectStandardInput = redirectStdin;
        Process process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the test agent.");
        _children.Add(process);
        return process;
    }

    /// <summary>Starts a region command (`command dir region args...`).</summary>
    public Process StartRegionAgent(string command, params string[] args) =>
        StartAgent(false, [command, DirectoryPath, Name, .. args]);

    public void Dispose()
    {
        foreach (Process child in _children)
        {
            if (!child.HasExited)
            {
                child.Kill();
                child.WaitForExit();
            }

            child.Dispose();
        }

        // A killed .NET child leaves its runtime's debugger FIFOs and diagnostics socket in /tmp: remove them.
        Unjucks.SharedMemory.Native.RuntimeIpcFiles.RemoveStale();
        Region.Dispose();
        Directory.Delete(DirectoryPath, recursive: true);
    }
}

using System.Text;

namespace Unjucks.Agents.Hosting.Tests;

/// <summary>A private (0700) session folder under /dev/shm for one test, and what is left in it and running from it.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class SessionFolder : IDisposable
{
    private SessionFolder(string path) => Path = path;

    /// <summary>The folder.</summary>
    public string Path { get; }

    public static SessionFolder Create() =>
        new(Directory.CreateDirectory($"/dev/shm/unjucks-hosting-test-{Guid.NewGuid():N}", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName);

    /// <summary>Files left in the folder.</summary>
    public string[] Leftovers() => Directory.Exists(Path) ? Directory.GetFileSystemEntries(Path) : [];

    /// <summary>Pids of processes whose command line names a file in this folder (the session's agents).</summary>
    public int[] AgentsRunning()
    {
        var pids = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(dir), out int pid))
            {
                continue;
            }

            try
            {
                string commandLine = Encoding.UTF8.GetString(File.ReadAllBytes(System.IO.Path.Combine(dir, "cmdline")));
                if (commandLine.Contains(Path + "/", StringComparison.Ordinal) && commandLine.Contains("--unjucks-agent", StringComparison.Ordinal)
                    && Unjucks.TestSupport.Signals.IsRunning(pid))
                {
                    pids.Add(pid);
                }
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
            catch (UnauthorizedAccessException)
            {
                // Not ours.
            }
        }

        return [.. pids];
    }

    /// <summary>Waits (up to <paramref name="timeout"/>) until no agent of this folder runs; returns those still running.</summary>
    public async Task<int[]> WaitForNoAgentsAsync(TimeSpan timeout)
    {
        DateTime until = DateTime.UtcNow + timeout;
        int[] running = AgentsRunning();
        while (running.Length > 0 && DateTime.UtcNow < until)
        {
            await Task.Delay(50);
            running = AgentsRunning();
        }

        return running;
    }

    public void Dispose()
    {
        foreach (int pid in AgentsRunning())
        {
            try
            {
                Unjucks.TestSupport.Signals.Send(pid, 9);
            }
            catch (InvalidOperationException)
            {
                // Gone meanwhile.
            }
        }

        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }

        Unjucks.TestSupport.ChildProcess.RemoveRuntimeLeftovers();
    }
}

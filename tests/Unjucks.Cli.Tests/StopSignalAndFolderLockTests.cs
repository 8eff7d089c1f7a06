using System.Globalization;
using Unjucks.TestSupport;
using TestChild = Unjucks.TestSupport.ChildProcess;

namespace Unjucks.Cli.Tests;

/// <summary>
/// The real tool as a child process (unjucks-perf.dll under the dotnet host), its agents as its own children:
/// SIGTERM, SIGHUP and SIGINT mid-run stop it with 128 + the signal's number and leave nothing behind (no session
/// file or claims folder of its pid, no copied samples, no *.tmp in --out, no agent process); a second run into the
/// same --out while the first runs is exit 2 naming the first's pid. Hang guards only.
/// </summary>
[TestFixture]
public sealed class StopSignalAndFolderLockTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(90);

    [TestCase(Signals.SIGTERM, "SIGTERM", 143)]
    [TestCase(Signals.SIGHUP, "SIGHUP", 129)]
    [TestCase(Signals.SIGINT, "SIGINT", 130)]
    public async Task ASignalMidRunStopsTheJobCleanly(int signal, string name, int exitCode)
    {
        using var work = new TempDirectory();
        var output = Path.Combine(work.Path, "out");
        using var tool = await StartLongRunAsync(output);
        var agents = AgentsOf(tool.Id);
        Assert.That(agents, Is.Not.Empty, "no agent process of the running job was found");

        Signals.Send(tool.Id, signal);
        await tool.WaitForExitAsync(Guard);

        Assert.That(tool.ExitCode, Is.EqualTo(exitCode), tool.StandardError);
        Assert.That(tool.StandardError, Does.Contain($"stopped by {name}"), tool.StandardError);
        Assert.That(LeftBy(tool.Id), Is.Empty, "session files, claims folders or copied samples left behind");
        Assert.That(Directory.EnumerateFiles(output, "*.tmp", SearchOption.AllDirectories), Is.Empty, "temporary outputs left in --out");
        Assert.That(Directory.EnumerateFiles(output, ".unjucks-render.lock", SearchOption.AllDirectories), Is.Empty, "the folder lock file left in --out");
        Assert.That(await StillRunningAsync(agents), Is.Empty, "agent processes outlived the job");
    }

    [Test]
    public async Task ASecondRunIntoTheSameOutFolderIsExit2NamingTheFirst()
    {
        using var work = new TempDirectory();
        var output = Path.Combine(work.Path, "out");
        using var first = await StartLongRunAsync(output);

        var second = await CliRun.InvokeAsync(new RealEngineServices(work.Path), CancellationToken.None, "run", "--agents", "1", "--out", "out");

        Assert.That(second.ExitCode, Is.EqualTo(2), second.ToString());
        Assert.That(second.Error, Does.Contain($"(pid {first.Id.ToString(CultureInfo.InvariantCulture)})"), second.ToString());
        Assert.That(first.HasExited, Is.False, "the first run must be untouched by the second");
        Signals.Send(first.Id, Signals.SIGTERM);
        await first.WaitForExitAsync(Guard);
        Assert.That(first.ExitCode, Is.EqualTo(143), first.StandardError);
    }

    /// <summary>Starts a job long enough to be signalled mid-run (the samples, 400 rounds, 2 agent processes) and
    /// returns once it printed a progress line with work done.</summary>
    private static async Task<TestChild> StartLongRunAsync(string output)
    {
        var tool = TestChild.Start("unjucks-perf", ["run", "--agents", "2", "--repeat", "400", "--no-dashboard", "--out", output]);
        try
        {
            while (true)
            {
                var line = await tool.ReadLineAsync(Guard);
                if (line.Contains(" done", StringComparison.Ordinal) && !line.Contains(": 0/", StringComparison.Ordinal))
                {
                    return tool;
                }
            }
        }
        catch
        {
            tool.Dispose();
            throw;
        }
    }

    /// <summary>Pids of the processes whose parent is <paramref name="pid"/> (the job's agents).</summary>
    private static List<int> AgentsOf(int pid)
    {
        var children = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int child) && ParentOf(child) == pid)
            {
                children.Add(child);
            }
        }

        return children;
    }

    private static int? ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], CultureInfo.InvariantCulture); // state, ppid, ...
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The agents among <paramref name="pids"/> still running after a short grace (an agent exits once it
    /// sees its coordinator gone; the kernel also kills it with its parent-death signal).</summary>
    private static async Task<List<int>> StillRunningAsync(List<int> pids)
    {
        for (int i = 0; i < 100 && pids.Exists(Signals.IsRunning); i++)
        {
            await Task.Delay(50);
        }

        return pids.FindAll(Signals.IsRunning);
    }

    /// <summary>What a job of <paramref name="pid"/> could leave: its session files and claims folder in the default
    /// session folder, its copy of the samples in the temporary folder.</summary>
    private static List<string> LeftBy(int pid)
    {
        var p = pid.ToString(CultureInfo.InvariantCulture);
        var left = new List<string>();
        var sessions = Unjucks.SharedMemory.SharedRegionOptions.DefaultDirectory;
        if (Directory.Exists(sessions))
        {
            left.AddRange(Directory.EnumerateFileSystemEntries(sessions)
                .Where(e => Path.GetFileName(e).StartsWith($"s{p}-", StringComparison.Ordinal) || Path.GetFileName(e).StartsWith($"claims-{p}-", StringComparison.Ordinal)));
        }

        left.AddRange(Directory.EnumerateDirectories(Path.GetTempPath(), $"unjucks-perf-samples-{p}-*"));
        return left;
    }
}

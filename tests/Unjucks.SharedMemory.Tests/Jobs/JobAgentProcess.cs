using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace Unjucks.SharedMemory.Tests.Jobs;

/// <summary>
/// A child agent process: <c>dotnet Unjucks.GcTestAgent.dll job &lt;dir&gt; &lt;job&gt; &lt;agent&gt;</c> (tests/Unjucks.GcTestAgent/JobWorker.cs).
/// Found beside the test assembly or in the agent project's bin folder for this configuration (the test
/// project builds it through a ProjectReference with ReferenceOutputAssembly=false).
/// </summary>
internal sealed class JobAgentProcess : IDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(60); // hang guard on a busy machine.
    private readonly Process _process;

    private JobAgentProcess(Process process, int agent)
    {
        _process = process;
        Agent = agent;
    }

    public int Agent { get; }

    public bool HasExited => _process.HasExited;

    public static async Task<JobAgentProcess> StartAsync(string directory, string job, int agent)
    {
        var psi = new ProcessStartInfo(DotnetHost()) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(AgentDll());
        psi.ArgumentList.Add("job");
        psi.ArgumentList.Add(directory);
        psi.ArgumentList.Add(job);
        psi.ArgumentList.Add(agent.ToString(CultureInfo.InvariantCulture));
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the job agent");
        var child = new JobAgentProcess(process, agent);
        try
        {
            string line = await child.ReadLineAsync();
            Assert.That(line, Does.StartWith("ready "), $"agent {agent}'s first line");
            return child;
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <summary>Asks the agent to stop and returns its report (commits, steal operations, stolen ids).</summary>
    public async Task<(long Commits, long Steals, long StolenIds)> StopAsync()
    {
        try
        {
            await _process.StandardInput.WriteLineAsync("exit");
            await _process.StandardInput.FlushAsync();
        }
        catch (IOException)
        {
            // The agent saw the job complete and exited on its own; its report is already in the pipe.
        }

        string line = await ReadLineAsync();
        string[] p = line.Split(' ');
        Assert.That(p, Has.Length.EqualTo(4).And.ItemAt(0).EqualTo("done"), $"agent {Agent}: unexpected report '{line}'");
        using var cts = new CancellationTokenSource(ReplyTimeout);
        await _process.WaitForExitAsync(cts.Token);
        return (long.Parse(p[1], CultureInfo.InvariantCulture), long.Parse(p[2], CultureInfo.InvariantCulture), long.Parse(p[3], CultureInfo.InvariantCulture));
    }

    /// <summary>SIGKILL: no cleanup runs in the child.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(60_000);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(60_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private async Task<string> ReadLineAsync()
    {
        using var cts = new CancellationTokenSource(ReplyTimeout);
        string? line = await _process.StandardOutput.ReadLineAsync(cts.Token);
        return line ?? throw new InvalidOperationException($"job agent {Agent} (pid {_process.Id}) closed its output (exited?)");
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

    private static string AgentDll()
    {
        const string dll = "Unjucks.GcTestAgent.dll";
        string here = AppContext.BaseDirectory;
        string beside = Path.Combine(here, dll);
        if (File.Exists(beside) && File.Exists(Path.ChangeExtension(beside, ".runtimeconfig.json")))
        {
            return beside;
        }

        string configuration = typeof(JobAgentProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        string tfm = new DirectoryInfo(here).Name; // bin/<Configuration>/<tfm>/
        for (var dir = new DirectoryInfo(here); dir is not null; dir = dir.Parent)
        {
            foreach (string candidate in new[]
            {
                Path.Combine(dir.FullName, "Unjucks.GcTestAgent", "bin", configuration, tfm, dll),
                Path.Combine(dir.FullName, "tests", "Unjucks.GcTestAgent", "bin", configuration, tfm, dll),
                Path.Combine(dir.FullName, "artifacts", "bin", "Unjucks.GcTestAgent", configuration.ToLowerInvariant(), dll), // UseArtifactsOutput layout
            })
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException(
            $"{dll} was not found beside {here} nor in tests/Unjucks.GcTestAgent/bin/{configuration}/{tfm}. Build the solution (the test project references the agent project).", dll);
    }
}

using System.Globalization;
using Unjucks.TestSupport;

namespace Unjucks.SharedMemory.Tests.Jobs;

/// <summary>
/// A child agent process: <c>dotnet Unjucks.GcTestAgent.dll job &lt;dir&gt; &lt;job&gt; &lt;agent&gt;</c> (tests/Unjucks.GcTestAgent/JobWorker.cs),
/// started, located, read and killed by <see cref="ChildProcess"/>.
/// </summary>
internal sealed class JobAgentProcess : IDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(60); // hang guard on a busy machine.
    private readonly ChildProcess _process;

    private JobAgentProcess(ChildProcess process, int agent)
    {
        _process = process;
        Agent = agent;
    }

    public int Agent { get; }

    public bool HasExited => _process.HasExited;

    public static async Task<JobAgentProcess> StartAsync(string directory, string job, int agent)
    {
        ChildProcess process = ChildProcess.Start("Unjucks.GcTestAgent", ["job", directory, job, agent.ToString(CultureInfo.InvariantCulture)], redirectInput: true);
        var child = new JobAgentProcess(process, agent);
        try
        {
            string line = await process.ReadLineAsync(ReplyTimeout);
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
            await _process.WriteLineAsync("exit");
        }
        catch (IOException)
        {
            // The agent saw the job complete and exited on its own; its report is already in the pipe.
        }

        string line = await _process.ReadLineAsync(ReplyTimeout);
        string[] p = line.Split(' ');
        Assert.That(p, Has.Length.EqualTo(4).And.ItemAt(0).EqualTo("done"), $"agent {Agent}: unexpected report '{line}'");
        await _process.WaitForExitAsync(ReplyTimeout);
        return (long.Parse(p[1], CultureInfo.InvariantCulture), long.Parse(p[2], CultureInfo.InvariantCulture), long.Parse(p[3], CultureInfo.InvariantCulture));
    }

    /// <summary>SIGKILL: no cleanup runs in the child.</summary>
    public void Kill() => _process.Kill();

    public void Dispose() => _process.Dispose();
}

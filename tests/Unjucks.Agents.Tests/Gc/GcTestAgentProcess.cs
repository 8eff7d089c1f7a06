using System.Globalization;
using Unjucks.TestSupport;

namespace Unjucks.Agents.Tests.Gc;

/// <summary>
/// A running tests/Unjucks.GcTestAgent child: <c>dotnet Unjucks.GcTestAgent.dll</c>, driven over stdin/stdout
/// (started, located, read and killed by <see cref="ChildProcess"/>).
/// </summary>
internal sealed class GcTestAgentProcess : IDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30); // hang guard on a busy machine.
    private readonly ChildProcess _process;

    private GcTestAgentProcess(ChildProcess process) => _process = process;

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The child's agent slot in the region ("gc-loop" mode only; -1 otherwise).</summary>
    public int Slot { get; private set; } = -1;

    public static Task<GcTestAgentProcess> StartAsync() => StartCoreAsync([], expectSlot: false);

    /// <summary>Starts a "gc-loop" child on region <paramref name="regionName"/> in <paramref name="directory"/>: cooperative or deaf.</summary>
    public static Task<GcTestAgentProcess> StartLoopAsync(string directory, string regionName, bool cooperative) =>
        StartCoreAsync(["gc-loop", directory, regionName, cooperative ? "coop" : "deaf"], expectSlot: true);

    private static async Task<GcTestAgentProcess> StartCoreAsync(string[] args, bool expectSlot)
    {
        var agent = new GcTestAgentProcess(ChildProcess.Start("Unjucks.GcTestAgent", args, redirectInput: true));
        try
        {
            string line = await agent._process.ReadLineAsync(ReplyTimeout);
            string ready = "ready " + agent.Pid.ToString(CultureInfo.InvariantCulture);
            if (expectSlot)
            {
                Assert.That(line, Does.StartWith(ready + " "), "the agent's first line");
                agent.Slot = int.Parse(line[(ready.Length + 1)..], CultureInfo.InvariantCulture);
            }
            else
            {
                Assert.That(line, Is.EqualTo(ready), "the agent's first line");
            }

            return agent;
        }
        catch
        {
            agent.Dispose();
            throw;
        }
    }

    /// <summary>"gc-loop" mode: the loop's iteration count and the responder's PausesServed.</summary>
    public async Task<(long Iterations, long PausesServed)> IterAsync()
    {
        await _process.WriteLineAsync("iter");
        string line = await _process.ReadLineAsync(ReplyTimeout);
        string[] parts = line.Split(' ');
        Assert.That(parts, Has.Length.EqualTo(3).And.ItemAt(0).EqualTo("iter"), $"unexpected reply '{line}'");
        return (long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    /// <summary>Asks the child for its own <c>GC.CollectionCount(2)</c> and <c>GC.GetTotalMemory(false)</c>.</summary>
    public async Task<(int Gen2, long TotalBytes)> Gen2Async()
    {
        await _process.WriteLineAsync("gen2");
        string line = await _process.ReadLineAsync(ReplyTimeout);
        string[] parts = line.Split(' ');
        Assert.That(parts, Has.Length.EqualTo(3).And.ItemAt(0).EqualTo("gen2"), $"unexpected reply '{line}'");
        return (int.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    /// <summary>SIGKILL: no cleanup runs in the child.</summary>
    public void Kill() => _process.Kill();

    public async Task ExitAsync()
    {
        await _process.WriteLineAsync("exit");
        await _process.WaitForExitAsync(ReplyTimeout);
    }

    public void Dispose() => _process.Dispose();
}

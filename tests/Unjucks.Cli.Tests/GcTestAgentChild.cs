using System.Diagnostics;
using System.Globalization;
using TestChild = Unjucks.TestSupport.ChildProcess;

namespace Unjucks.Cli.Tests;

/// <summary>
/// A tests/Unjucks.GcTestAgent child in "gc-loop" mode: it opens a region, registers, loops allocating garbage and
/// (coop) serves GC pauses at its safe point or (deaf) never does; on stdin it answers "gen2" with its own
/// <c>GC.CollectionCount(2)</c> and "iter" with its loop count. Started, located, read and killed by
/// <see cref="TestChild"/> (this test project builds the agent through a ProjectReference with ReferenceOutputAssembly=false).
/// </summary>
internal sealed class GcTestAgentChild : IDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30); // hang guard on a busy machine
    private readonly TestChild _process;
    private bool _disposed;

    private GcTestAgentChild(TestChild process) => _process = process;

    public int Pid => _process.Id;

    /// <summary>The child's agent slot in the region.</summary>
    public int Slot { get; private set; }

    public static async Task<GcTestAgentChild> StartAsync(string directory, string regionName, bool cooperative)
    {
        var child = new GcTestAgentChild(TestChild.Start(
            "Unjucks.GcTestAgent", ["gc-loop", directory, regionName, cooperative ? "coop" : "deaf"], redirectInput: true));
        try
        {
            string line = await child._process.ReadLineAsync(ReplyTimeout);
            string[] parts = line.Split(' ');
            Assert.That(parts, Has.Length.EqualTo(3).And.ItemAt(0).EqualTo("ready").And.ItemAt(1).EqualTo(child.Pid.ToString(CultureInfo.InvariantCulture)),
                $"the agent's first line was '{line}'");
            child.Slot = int.Parse(parts[2], CultureInfo.InvariantCulture);
            return child;
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <summary>The child's own <c>GC.CollectionCount(2)</c>.</summary>
    public async Task<int> Gen2Async()
    {
        string[] parts = await AskAsync("gen2");
        return int.Parse(parts[1], CultureInfo.InvariantCulture);
    }

    /// <summary>Waits until the child's loop has run more than <paramref name="iterations"/> times (it is past start-up).</summary>
    public async Task WaitForIterationsAsync(long iterations)
    {
        var start = Stopwatch.GetTimestamp();
        while (long.Parse((await AskAsync("iter"))[1], CultureInfo.InvariantCulture) <= iterations)
        {
            Assert.That(Stopwatch.GetElapsedTime(start), Is.LessThan(ReplyTimeout), $"hang guard: agent {Pid}'s loop never passed {iterations} iterations");
            await Task.Delay(20);
        }
    }

    /// <summary>SIGKILL, then wait until the process is gone (the kernel has released its registration's flock).</summary>
    public void Kill() => _process.Kill();

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _process.Dispose();
    }

    private async Task<string[]> AskAsync(string command)
    {
        await _process.WriteLineAsync(command);
        string line = await _process.ReadLineAsync(ReplyTimeout);
        string[] parts = line.Split(' ');
        Assert.That(parts, Has.Length.EqualTo(3).And.ItemAt(0).EqualTo(command), $"agent {Pid} answered '{line}' to '{command}'");
        return parts;
    }
}

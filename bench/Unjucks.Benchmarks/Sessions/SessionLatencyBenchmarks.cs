using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using Unjucks.Agents;
using Unjucks.Benchmarks.Harness;

namespace Unjucks.Benchmarks.Sessions;

/// <summary>
/// One task at a time on idle agents (issue 10 target: placement-to-pickup p50 &lt;= 5 µs when the agent is idle):
/// submit one 64-byte task, await its result, repeat. Mean is the whole round trip through the public API
/// (submit, place, wake, lease, run, commit, wake the coordinator, collect, complete the handle); the
/// placement-to-pickup percentiles are the session's own histogram, printed at cleanup.
/// </summary>
[SupportedOSPlatform("linux")]
[Config(typeof(BenchConfig))]
public class SessionLatencyBenchmarks
{
    private const int Tasks = 400;
    private readonly byte[] _payload = new byte[64];
    private BenchAgentSession _session = null!;

    /// <summary>Agent processes.</summary>
    [ParamsSource(typeof(ThreadCounts), nameof(ThreadCounts.Any))]
    public int Agents { get; set; }

    /// <summary>Starts the agents once.</summary>
    [GlobalSetup]
    public void Setup() => _session = BenchAgentSession.Start(Agents);

    /// <summary>Prints the pickup percentiles and stops the agents.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine(_session.DescribePickup($"session latency agents={Agents}"));
        _session.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>400 round trips, one task in flight at a time.</summary>
    /// <returns>The last result's length, to keep it alive.</returns>
    [Benchmark(OperationsPerInvoke = Tasks)]
    public async Task<int> OneAtATime()
    {
        AgentSession session = _session.Session;
        int length = 0;
        for (int i = 0; i < Tasks; i++)
        {
            AgentTaskHandle handle = await session.SubmitAsync(_payload).ConfigureAwait(false);
            length = (await handle.Result.ConfigureAwait(false)).Length;
        }

        Check.Equal(_payload.Length, length, "session echo result length");
        return length;
    }
}

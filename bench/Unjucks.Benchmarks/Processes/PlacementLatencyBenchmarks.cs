using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using Unjucks.Agents.Processes;
using Unjucks.Benchmarks.Harness;

namespace Unjucks.Benchmarks.Processes;

/// <summary>
/// Placement-to-pickup latency (issue 5 target: p50 &lt;= 5 µs): one trivial task per agent per job, so every task is
/// placed on an idle (spinning or parked) agent. The measured time is the whole job round trip (publish, place, wake,
/// pick up, commit, see Done); the placement-to-pickup percentiles themselves come from the task table's ticks and
/// are printed at cleanup ("placement-to-pickup p50=... p95=..."). Agent counts: UNJUCKS_BENCH_THREADS.
/// </summary>
[SupportedOSPlatform("linux")]
[Config(typeof(BenchConfig))]
public class PlacementLatencyBenchmarks
{
    private BenchSession _session = null!;

    /// <summary>Agent processes.</summary>
    [ParamsSource(typeof(ThreadCounts), nameof(ThreadCounts.Any))]
    public int Agents { get; set; }

    /// <summary>Starts the agent processes once.</summary>
    [GlobalSetup]
    public void Setup() => _session = new BenchSession(Agents, Placement.LeastLoaded);

    /// <summary>Prints the medians of the job summaries and stops the agents.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine(_session.Describe($"latency agents={Agents}"));
        _session.Dispose();
    }

    /// <summary>One job with one task per agent.</summary>
    /// <returns>The job's placement-to-pickup median in ticks, to keep the result alive.</returns>
    [Benchmark]
    public long OneTaskPerAgent() => _session.Run(Agents).Summary.MessageLatencyP50.Ticks;
}

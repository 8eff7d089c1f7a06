using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using Unjucks.Agents.Processes;
using Unjucks.Benchmarks.Harness;

namespace Unjucks.Benchmarks.Processes;

/// <summary>
/// Placement-to-pickup latency (issue 5 target: p50 &lt;= 5 µs). The coordinator hands out ONE id per agent at a time
/// (MaxQueuedPerAgent = 1), so each task is placed on an agent that has just finished its previous one (spinning, or
/// parked on the futex when the coordinator was slower): the time from TryPlace's timestamp to the agent's lease is
/// the message latency, not time spent queued behind other tasks. Mean = job time / tasks; the placement-to-pickup
/// percentiles come from the task table's ticks and are printed at cleanup. Agent counts: UNJUCKS_BENCH_THREADS.
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
    public void Setup() => _session = new BenchSession(Agents, Placement.LeastLoaded, maxQueuedPerAgent: 1);

    /// <summary>Prints the medians of the job summaries and stops the agents.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine(_session.Describe($"latency agents={Agents}"));
        _session.Dispose();
    }

    /// <summary>One job of 400 tasks, handed out one per agent at a time.</summary>
    /// <returns>The job's placement-to-pickup median in ticks, to keep the result alive.</returns>
    [Benchmark(OperationsPerInvoke = Tasks)]
    public long OneAtATime() => _session.Run(Tasks).Summary.MessageLatencyP50.Ticks;

    private const int Tasks = 400;
}

using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using Unjucks.Agents.Processes;
using Unjucks.Benchmarks.Harness;

namespace Unjucks.Benchmarks.Processes;

/// <summary>
/// How many trivial tasks per second the process engine sustains (issue 5 target on 16 cores: 1 million/s at 16
/// agents), per-agent deques with least-loaded placement and cross-process stealing beside the baseline of ONE shared
/// queue (SharedMessageQueue) every agent dequeues from. Both use the same task table, leases and commits; Op/s is
/// tasks per second including publishing the job and collecting every result. Agent counts: UNJUCKS_BENCH_THREADS.
/// </summary>
[SupportedOSPlatform("linux")]
[Config(typeof(BenchConfig))]
public class JobThroughputBenchmarks
{
    private const int Tasks = 20_000;
    private BenchSession _session = null!;

    /// <summary>Agent processes.</summary>
    [ParamsSource(typeof(ThreadCounts), nameof(ThreadCounts.Any))]
    public int Agents { get; set; }

    /// <summary>Per-agent deques with stealing, or the single shared queue.</summary>
    /// <remarks>A name, not the engine's (internal) <c>Placement</c> enum, which a public parameter cannot expose.</remarks>
    [Params(nameof(Unjucks.Agents.Processes.Placement.LeastLoaded), nameof(Unjucks.Agents.Processes.Placement.SharedQueue))]
    public string Placement { get; set; } = nameof(Unjucks.Agents.Processes.Placement.LeastLoaded);

    /// <summary>Starts the agent processes once.</summary>
    [GlobalSetup]
    public void Setup() => _session = new BenchSession(Agents, Enum.Parse<Unjucks.Agents.Processes.Placement>(Placement));

    /// <summary>Prints the medians of the job summaries and stops the agents.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine(_session.Describe($"throughput agents={Agents} placement={Placement}"));
        _session.Dispose();
    }

    /// <summary>One job of 20,000 trivial tasks (result = f(id), checked for every id).</summary>
    /// <returns>Steals, to keep the result alive.</returns>
    [Benchmark(OperationsPerInvoke = Tasks)]
    public long TrivialTasks() => _session.Run(Tasks).Summary.TotalSteals;
}

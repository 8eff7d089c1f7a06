// What the harness itself adds to every invocation of the multi-threaded benchmarks: one WorkerPool round
// with an empty body (release Threads parked workers, wait for all of them to signal). Compare it with
// the Mean x OperationsPerInvoke of a benchmark (its time per invocation) to see the share it takes.
using BenchmarkDotNet.Attributes;

namespace Unjucks.Benchmarks.Harness;

/// <summary>Cost of one empty <see cref="WorkerPool.Run"/> round at 1..16 threads.</summary>
[Config(typeof(BenchConfig))]
public class WorkerPoolOverheadBenchmarks
{
    private static readonly Action<int> Empty = static _ => { };
    private WorkerPool _pool = null!;

    /// <summary>Worker threads.</summary>
    [ParamsSource(typeof(ThreadCounts), nameof(ThreadCounts.Any))]
    public int Threads { get; set; }

    /// <summary>Starts the workers.</summary>
    [GlobalSetup]
    public void Setup() => _pool = new WorkerPool(Threads);

    /// <summary>Stops the workers.</summary>
    [GlobalCleanup]
    public void Cleanup() => _pool.Dispose();

    /// <summary>Release all workers, wait until all have run an empty body.</summary>
    [Benchmark]
    public void EmptyRound() => _pool.Run(Empty);
}

// The ceiling issue 2 compares MpmcQueue<T> against: Threads workers doing Interlocked.Increment on ONE
// shared counter alone on its cache line (every increment moves the line between cores; on a 16-core
// machine about 40 Mops/s). A fetch-and-add queue does at least one such contended increment per
// operation, so its pair throughput cannot beat this. PerThreadCounters is the same loop on private,
// padded counters: what the increments cost without sharing a line (the scaling a queue will never get).
// Mean is nanoseconds per increment across all threads; Op/s is increments per second.
using BenchmarkDotNet.Attributes;
using Unjucks.Benchmarks.Harness;

namespace Unjucks.Benchmarks.LockFree;

/// <summary>Interlocked.Increment on one shared padded counter from 1..16 threads.</summary>
[Config(typeof(BenchConfig))]
public class FetchAddCeilingBenchmarks
{
    /// <summary>Increments per invocation, shared by all workers.</summary>
    public const int TotalIncrements = 1 << 18;

    private WorkerPool _pool = null!;
    private PaddedLong _shared;
    private PaddedLong[] _private = null!;
    private Action<int> _sharedBody = null!;
    private Action<int> _privateBody = null!;

    /// <summary>Worker threads.</summary>
    [ParamsSource(typeof(ThreadCounts), nameof(ThreadCounts.Any))]
    public int Threads { get; set; }

    private int IncrementsPerThread => TotalIncrements / Threads;

    /// <summary>Starts the workers.</summary>
    [GlobalSetup]
    public void Setup()
    {
        if (TotalIncrements % Threads != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Threads), Threads, $"Threads must divide {TotalIncrements}; use a power of two.");
        }

        _pool = new WorkerPool(Threads);
        _private = new PaddedLong[Threads];
        _sharedBody = _ =>
        {
            int n = IncrementsPerThread;
            for (int i = 0; i < n; i++)
            {
                // The measured operation: a contended fetch-and-add. No ordering partner; the final
                // value is read after WorkerPool.Run, whose CountdownEvent orders it.
                Interlocked.Increment(ref _shared.Value);
            }
        };
        _privateBody = worker =>
        {
            int n = IncrementsPerThread;
            // Hoisted: re-reading the array inside the loop would put two loads behind each locked
            // instruction (which they cannot pass) and double the per-increment latency.
            ref long counter = ref _private[worker].Value;
            for (int i = 0; i < n; i++)
            {
                // Same instruction on a line no other thread writes: the uncontended cost.
                Interlocked.Increment(ref counter);
            }
        };
    }

    /// <summary>Stops the workers.</summary>
    [GlobalCleanup]
    public void Cleanup() => _pool.Dispose();

    /// <summary>All threads increment one shared counter: the ceiling.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = TotalIncrements)]
    public void SharedCounter()
    {
        _shared.Value = 0;
        _pool.Run(_sharedBody);
        Check.Equal(TotalIncrements, _shared.Value, $"shared counter after {Threads} threads");
    }

    /// <summary>Each thread increments its own padded counter: no contention.</summary>
    [Benchmark(OperationsPerInvoke = TotalIncrements)]
    public void PerThreadCounters()
    {
        Array.Clear(_private);
        _pool.Run(_privateBody);
        Check.Equal(TotalIncrements, Check.Sum(_private), $"private counters of {Threads} threads");
    }
}

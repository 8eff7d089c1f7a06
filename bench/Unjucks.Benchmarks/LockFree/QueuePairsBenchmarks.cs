// Threads workers share TotalPairs enqueue+dequeue pairs per invocation (each does TotalPairs / Threads x
// (enqueue one item, dequeue one item)) on one shared queue. The work per invocation is the same at every
// thread count (OperationsPerInvoke must be a constant), so the reported Mean is nanoseconds per
// enqueue+dequeue PAIR across all threads and Op/s is the aggregate pair throughput: the number issue 2 quotes
// (ConcurrentQueue<T>: 73 Mops/s on 1 thread, 4.75 Mops/s on 16, on a 16-core machine).
// Ratio is against ConcurrentQueue<T> at the same thread count: below 1 is faster.
using BenchmarkDotNet.Attributes;
using Unjucks.Benchmarks.Harness;

namespace Unjucks.Benchmarks.LockFree;

/// <summary>Enqueue+dequeue pairs on one queue from 1..16 threads.</summary>
[Config(typeof(BenchConfig))]
public class QueuePairsBenchmarks : IQueueBinder<Action<int>>
{
    /// <summary>Pairs per invocation, shared by all workers (modest, so the CI dry run is quick).</summary>
    public const int TotalPairs = 1 << 17;

    /// <summary>Ample for pairs: at most one item per thread is ever in the queue.</summary>
    public const int BoundedCapacity = 1024;

    private WorkerPool _pool = null!;
    private PaddedLong[] _sums = null!;
    private Action<int> _mpmc = null!;
    private Action<int> _bounded = null!;
    private Action<int> _concurrentQueue = null!;
    private Action<int> _unboundedChannel = null!;
    private Action<int> _boundedChannel = null!;

    /// <summary>Worker threads; counts above the core count still run (workers park between rounds).</summary>
    [ParamsSource(typeof(ThreadCounts), nameof(ThreadCounts.Any))]
    public int Threads { get; set; }

    private int PairsPerThread => TotalPairs / Threads;

    /// <summary>Starts the workers and creates one queue of each kind.</summary>
    [GlobalSetup]
    public void Setup()
    {
        if (TotalPairs % Threads != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Threads), Threads, $"Threads must divide {TotalPairs}; use a power of two.");
        }

        _pool = new WorkerPool(Threads);
        _sums = new PaddedLong[Threads];
        _mpmc = QueueFactory.Create(QueueKind.Mpmc, BoundedCapacity, this);
        _bounded = QueueFactory.Create(QueueKind.BoundedMpmc, BoundedCapacity, this);
        _concurrentQueue = QueueFactory.Create(QueueKind.ConcurrentQueue, BoundedCapacity, this);
        _unboundedChannel = QueueFactory.Create(QueueKind.UnboundedChannel, BoundedCapacity, this);
        _boundedChannel = QueueFactory.Create(QueueKind.BoundedChannel, BoundedCapacity, this);
    }

    /// <summary>Stops the workers.</summary>
    [GlobalCleanup]
    public void Cleanup() => _pool.Dispose();

    /// <summary>The BCL peer every ratio is against.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = TotalPairs)]
    public void ConcurrentQueue() => Round(_concurrentQueue);

    /// <summary>Unjucks' unbounded fetch-and-add queue.</summary>
    [Benchmark(OperationsPerInvoke = TotalPairs)]
    public void MpmcQueue() => Round(_mpmc);

    /// <summary>Unjucks' bounded ring.</summary>
    [Benchmark(OperationsPerInvoke = TotalPairs)]
    public void BoundedMpmcQueue() => Round(_bounded);

    /// <summary>Channel.CreateUnbounded, TryWrite/TryRead.</summary>
    [Benchmark(OperationsPerInvoke = TotalPairs)]
    public void UnboundedChannel() => Round(_unboundedChannel);

    /// <summary>Channel.CreateBounded, TryWrite/TryRead.</summary>
    [Benchmark(OperationsPerInvoke = TotalPairs)]
    public void BoundedChannel() => Round(_boundedChannel);

    /// <inheritdoc/>
    public Action<int> Bind<TQueue>(TQueue queue)
        where TQueue : struct, IQueueAdapter
        => worker => _sums[worker].Value = QueueWorkloads.Pairs(queue, PairsPerThread);

    private void Round(Action<int> body)
    {
        _pool.Run(body);
        // Every thread enqueued 0..PairsPerThread-1 and dequeued as many items: the multiset out is the
        // multiset in, so the sums must match. Costs Threads additions per invocation.
        Check.Equal(Threads * Check.Triangle(PairsPerThread), Check.Sum(_sums), $"sum of items dequeued by {Threads} threads");
    }
}

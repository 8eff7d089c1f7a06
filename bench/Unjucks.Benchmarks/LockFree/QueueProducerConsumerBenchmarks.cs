// Threads / 2 producers and Threads / 2 consumers move TotalItems distinct items through one queue per
// invocation. Producers split the items evenly; a bounded queue that is full makes a producer back off with
// SpinWait and retry. The last producer to finish enqueues one end-of-round marker per consumer; a
// consumer stops at its first marker. Since the markers are enqueued after every real item and the queue is
// FIFO, every real item has been dequeued when the last consumer stops; the counts and sums are checked.
// Mean is nanoseconds per item moved (OperationsPerInvoke = TotalItems); Op/s is items moved per second.
// Ratio is against ConcurrentQueue<T> at the same thread count.
using BenchmarkDotNet.Attributes;
using Unjucks.Benchmarks.Harness;

namespace Unjucks.Benchmarks.LockFree;

/// <summary>Producer/consumer split: T/2 producers, T/2 consumers, one queue.</summary>
[Config(typeof(BenchConfig))]
public class QueueProducerConsumerBenchmarks : IQueueBinder<Action<int>>
{
    /// <summary>Items moved per invocation.</summary>
    public const int TotalItems = 1 << 16;

    /// <summary>Slots of the bounded queues: small enough that producers do meet "full".</summary>
    public const int BoundedCapacity = 1024;

    private WorkerPool _pool = null!;
    private PaddedLong[] _counts = null!;
    private PaddedLong[] _sums = null!;
    private int _producersLeft;
    private Action<int> _mpmc = null!;
    private Action<int> _bounded = null!;
    private Action<int> _concurrentQueue = null!;
    private Action<int> _unboundedChannel = null!;
    private Action<int> _boundedChannel = null!;

    /// <summary>Total threads, half producers, half consumers.</summary>
    [ParamsSource(typeof(ThreadCounts), nameof(ThreadCounts.Even))]
    public int Threads { get; set; }

    private int Producers => Threads / 2;

    private int ItemsPerProducer => TotalItems / Producers;

    /// <summary>Starts the workers and creates one queue of each kind.</summary>
    [GlobalSetup]
    public void Setup()
    {
        if (Threads < 2 || Threads % 2 != 0 || TotalItems % (Threads / 2) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Threads), Threads, $"Threads must be even, at least 2, and half of it must divide {TotalItems}.");
        }

        _pool = new WorkerPool(Threads);
        _counts = new PaddedLong[Threads];
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
    [Benchmark(Baseline = true, OperationsPerInvoke = TotalItems)]
    public void ConcurrentQueue() => Round(_concurrentQueue);

    /// <summary>Unjucks' unbounded fetch-and-add queue.</summary>
    [Benchmark(OperationsPerInvoke = TotalItems)]
    public void MpmcQueue() => Round(_mpmc);

    /// <summary>Unjucks' bounded ring (producers retry when full).</summary>
    [Benchmark(OperationsPerInvoke = TotalItems)]
    public void BoundedMpmcQueue() => Round(_bounded);

    /// <summary>Channel.CreateUnbounded, TryWrite/TryRead.</summary>
    [Benchmark(OperationsPerInvoke = TotalItems)]
    public void UnboundedChannel() => Round(_unboundedChannel);

    /// <summary>Channel.CreateBounded, TryWrite/TryRead (producers retry when full).</summary>
    [Benchmark(OperationsPerInvoke = TotalItems)]
    public void BoundedChannel() => Round(_boundedChannel);

    /// <inheritdoc/>
    public Action<int> Bind<TQueue>(TQueue queue)
        where TQueue : struct, IQueueAdapter
        => worker =>
        {
            if (worker < Producers)
            {
                QueueWorkloads.Produce(queue, (long)worker * ItemsPerProducer, ItemsPerProducer);
                // One Interlocked decrement per producer per round (not per item): the last producer
                // to get here has seen its own enqueues complete, and every other producer's decrement
                // came after that producer's enqueues, so all real items precede the markers.
                if (Interlocked.Decrement(ref _producersLeft) == 0)
                {
                    for (int c = 0; c < Threads - Producers; c++)
                    {
                        QueueWorkloads.Enqueue(queue, QueueWorkloads.EndOfRound);
                    }
                }
            }
            else
            {
                (_counts[worker].Value, _sums[worker].Value) = QueueWorkloads.Consume(queue);
            }
        };

    private void Round(Action<int> body)
    {
        // Written before WorkerPool.Run releases the workers (its semaphore release publishes it).
        _producersLeft = Producers;
        _pool.Run(body);
        Check.Equal(TotalItems, Check.Sum(_counts), $"items received by {Threads - Producers} consumers");
        Check.Equal(Check.Triangle(TotalItems), Check.Sum(_sums), $"sum of items received by {Threads - Producers} consumers");
    }
}

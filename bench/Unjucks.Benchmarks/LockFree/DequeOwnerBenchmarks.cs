// The owner's fast path, single thread, no thieves: WorkStealingDeque<T>.Push + TryPop against the BCL
// peer ConcurrentBag<T>.Add + TryTake (which also works on a thread-local list first). Issue 2's target:
// owner push+pop <= 3 ns on a 16-core machine.
//  - Pairs: push one, pop one (the deque never holds more than one item).
//  - Burst: push BurstSize, then pop BurstSize (the deque's buffer holds many items; measures the array
//    path rather than the "just one item" path).
// Mean is nanoseconds per push+pop pair. Ratio is against ConcurrentBag<T> within each category.
using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Unjucks.Benchmarks.Harness;
using Unjucks.LockFree;

namespace Unjucks.Benchmarks.LockFree;

/// <summary>Owner push/pop on one thread: WorkStealingDeque vs ConcurrentBag.</summary>
[Config(typeof(BenchConfig))]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class DequeOwnerBenchmarks
{
    /// <summary>Push+pop pairs per invocation.</summary>
    public const int Ops = 1 << 16;

    /// <summary>Items pushed before popping them all, in the Burst category.</summary>
    public const int BurstSize = 64;

    // Created in GlobalSetup, which BenchmarkDotNet runs on the thread that then runs the benchmark:
    // that thread is the deque's owner (and the bag's local-list thread) throughout.
    private WorkStealingDeque<long> _deque = null!;
    private ConcurrentBag<long> _bag = null!;

    /// <summary>Creates the deque and the bag.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _deque = new WorkStealingDeque<long>();
        _bag = [];
    }

    /// <summary>ConcurrentBag Add+TryTake.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Ops)]
    [BenchmarkCategory("Pairs")]
    public long BagAddTake()
    {
        long sum = 0;
        for (int i = 0; i < Ops; i++)
        {
            _bag.Add(i);
            _bag.TryTake(out long item);
            sum += item;
        }

        Check.Equal(Check.Triangle(Ops), sum, "sum of items taken from the bag");
        return sum;
    }

    /// <summary>WorkStealingDeque Push+TryPop.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    [BenchmarkCategory("Pairs")]
    public long DequePushPop()
    {
        long sum = 0;
        for (int i = 0; i < Ops; i++)
        {
            _deque.Push(i);
            _deque.TryPop(out long item);
            sum += item;
        }

        Check.Equal(Check.Triangle(Ops), sum, "sum of items popped from the deque");
        return sum;
    }

    /// <summary>ConcurrentBag: Add BurstSize, then TryTake BurstSize.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Ops)]
    [BenchmarkCategory("Burst")]
    public long BagBurst()
    {
        long sum = 0;
        for (int round = 0; round < Ops / BurstSize; round++)
        {
            for (int i = 0; i < BurstSize; i++)
            {
                _bag.Add(i);
            }

            for (int i = 0; i < BurstSize; i++)
            {
                _bag.TryTake(out long item);
                sum += item;
            }
        }

        Check.Equal(Ops / BurstSize * Check.Triangle(BurstSize), sum, "sum of items taken from the bag");
        return sum;
    }

    /// <summary>WorkStealingDeque: Push BurstSize, then TryPop BurstSize.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    [BenchmarkCategory("Burst")]
    public long DequeBurst()
    {
        long sum = 0;
        for (int round = 0; round < Ops / BurstSize; round++)
        {
            for (int i = 0; i < BurstSize; i++)
            {
                _deque.Push(i);
            }

            for (int i = 0; i < BurstSize; i++)
            {
                _deque.TryPop(out long item);
                sum += item;
            }
        }

        Check.Equal(Ops / BurstSize * Check.Triangle(BurstSize), sum, "sum of items popped from the deque");
        return sum;
    }
}

// Stealing: the benchmark thread (the owner) pushes Items, then Thieves workers take items from the other
// end until the structure is empty. Measured: the owner's pushes plus the thieves' drain (the owner's
// cost alone is DequeOwnerBenchmarks). WorkStealingDeque<T>.TrySteal against ConcurrentBag<T>.TryTake
// from threads that own no items (so the bag steals too, under its per-list lock).
// A failed TrySteal may be a lost race rather than "empty"; a thief stops only once the structure is
// observed empty. Counts and sums are checked. Mean is nanoseconds per item (pushed and stolen); Op/s is
// items per second. Ratio is against ConcurrentBag<T> at the same thief count.
using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Unjucks.Benchmarks.Harness;
using Unjucks.LockFree;

namespace Unjucks.Benchmarks.LockFree;

/// <summary>Owner pushes, 1..16 thieves steal until empty: WorkStealingDeque vs ConcurrentBag.</summary>
[Config(typeof(BenchConfig))]
public class DequeStealBenchmarks
{
    /// <summary>Items pushed and stolen per invocation.</summary>
    public const int Items = 1 << 15;

    private WorkerPool _pool = null!;
    private PaddedLong[] _counts = null!;
    private PaddedLong[] _sums = null!;
    private WorkStealingDeque<long> _deque = null!;
    private ConcurrentBag<long> _bag = null!;
    private Action<int> _stealDeque = null!;
    private Action<int> _takeBag = null!;

    /// <summary>Thief threads (the owner is the benchmark thread).</summary>
    [ParamsSource(typeof(ThreadCounts), nameof(ThreadCounts.Any))]
    public int Thieves { get; set; }

    /// <summary>Starts the thieves; the benchmark thread, which runs this, owns the deque.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _pool = new WorkerPool(Thieves);
        _counts = new PaddedLong[Thieves];
        _sums = new PaddedLong[Thieves];
        _deque = new WorkStealingDeque<long>();
        _bag = [];
        _stealDeque = thief =>
        {
            long count = 0;
            long sum = 0;
            var spinner = new SpinWait();
            while (true)
            {
                if (_deque.TrySteal(out long item))
                {
                    count++;
                    sum += item;
                    spinner.Reset(); // back-off is for "momentarily empty or lost a race", not cumulative
                    continue;
                }

                // The owner pushed everything before this round began, so Count only falls: 0 is final.
                if (_deque.Count == 0)
                {
                    break;
                }

                spinner.SpinOnce(sleep1Threshold: -1);
            }

            _counts[thief].Value = count;
            _sums[thief].Value = sum;
        };
        _takeBag = thief =>
        {
            long count = 0;
            long sum = 0;
            var spinner = new SpinWait();
            while (true)
            {
                if (_bag.TryTake(out long item))
                {
                    count++;
                    sum += item;
                    spinner.Reset(); // back-off is for "momentarily empty or lost a race", not cumulative
                    continue;
                }

                if (_bag.IsEmpty)
                {
                    break;
                }

                spinner.SpinOnce(sleep1Threshold: -1);
            }

            _counts[thief].Value = count;
            _sums[thief].Value = sum;
        };
    }

    /// <summary>Stops the thieves.</summary>
    [GlobalCleanup]
    public void Cleanup() => _pool.Dispose();

    /// <summary>ConcurrentBag: Add Items on this thread, TryTake on the others.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public void BagAddThenTake()
    {
        for (int i = 0; i < Items; i++)
        {
            _bag.Add(i);
        }

        _pool.Run(_takeBag);
        Verify("bag");
    }

    /// <summary>WorkStealingDeque: Push Items as the owner, TrySteal on the others.</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public void DequePushThenSteal()
    {
        for (int i = 0; i < Items; i++)
        {
            _deque.Push(i);
        }

        _pool.Run(_stealDeque);
        Verify("deque");
    }

    private void Verify(string what)
    {
        Check.Equal(Items, Check.Sum(_counts), $"items stolen from the {what} by {Thieves} thieves");
        Check.Equal(Check.Triangle(Items), Check.Sum(_sums), $"sum of items stolen from the {what} by {Thieves} thieves");
    }
}

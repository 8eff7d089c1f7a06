// Batch stealing, as the scheduler does it: the benchmark thread (the victim's owner) pushes Items, then
// each of Thieves workers repeatedly moves up to half of the victim into its OWN deque with StealHalf
// (called by the destination's owner, as the API requires) and pops what it got, until the victim is
// empty. Baseline: the same thieves moving items one TrySteal at a time into their own deque and popping
// them (what a scheduler without StealHalf would do), so Ratio < 1 is the gain from batching.
// Counts and sums are checked. Mean is nanoseconds per item; Op/s is items per second.
using BenchmarkDotNet.Attributes;
using Unjucks.Benchmarks.Harness;
using Unjucks.LockFree;

namespace Unjucks.Benchmarks.LockFree;

/// <summary>StealHalf throughput against one-at-a-time TrySteal, 1..16 thieves.</summary>
[Config(typeof(BenchConfig))]
public class DequeStealHalfBenchmarks
{
    /// <summary>Items pushed and moved per invocation.</summary>
    public const int Items = 1 << 15;

    private WorkerPool _pool = null!;
    private PaddedLong[] _counts = null!;
    private PaddedLong[] _sums = null!;
    private WorkStealingDeque<long> _victim = null!;
    private WorkStealingDeque<long>[] _own = null!;
    private Action<int> _stealHalf = null!;
    private Action<int> _stealOne = null!;

    /// <summary>Thief threads, each the owner of its own deque.</summary>
    [ParamsSource(typeof(ThreadCounts), nameof(ThreadCounts.Any))]
    public int Thieves { get; set; }

    /// <summary>Starts the thieves and creates the deques.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _pool = new WorkerPool(Thieves);
        _counts = new PaddedLong[Thieves];
        _sums = new PaddedLong[Thieves];
        _victim = new WorkStealingDeque<long>();
        _own = new WorkStealingDeque<long>[Thieves];
        for (int i = 0; i < Thieves; i++)
        {
            // Only worker i ever pushes or pops _own[i]: it is that deque's owner.
            _own[i] = new WorkStealingDeque<long>();
        }

        _stealHalf = thief => Drain<HalfMove>(thief);
        _stealOne = thief => Drain<OneMove>(thief);
    }

    /// <summary>Stops the thieves.</summary>
    [GlobalCleanup]
    public void Cleanup() => _pool.Dispose();

    /// <summary>Thieves move one item at a time (TrySteal, Push, TryPop).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public void StealOneAtATime()
    {
        Fill();
        _pool.Run(_stealOne);
        Verify("TrySteal");
    }

    /// <summary>Thieves move up to half of the victim at a time (StealHalf, then TryPop).</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public void StealHalf()
    {
        Fill();
        _pool.Run(_stealHalf);
        Verify("StealHalf");
    }

    private void Fill()
    {
        for (int i = 0; i < Items; i++)
        {
            _victim.Push(i);
        }
    }

    // Struct strategies, so the JIT specialises Drain for each and neither pays a delegate call per move.
    private interface IMove
    {
        static abstract int Move(WorkStealingDeque<long> victim, WorkStealingDeque<long> own);
    }

    private void Drain<TMove>(int thief)
        where TMove : struct, IMove
    {
        var own = _own[thief];
        long count = 0;
        long sum = 0;
        var spinner = new SpinWait();
        while (true)
        {
            if (TMove.Move(_victim, own) > 0)
            {
                while (own.TryPop(out long item))
                {
                    count++;
                    sum += item;
                }

                spinner.Reset(); // back-off is for "momentarily empty or lost a race", not cumulative
                continue;
            }

            // The victim's owner pushed everything before this round began: a Count of 0 is final.
            if (_victim.Count == 0)
            {
                break;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        _counts[thief].Value = count;
        _sums[thief].Value = sum;
    }

    private void Verify(string how)
    {
        Check.Equal(Items, Check.Sum(_counts), $"items moved with {how} by {Thieves} thieves");
        Check.Equal(Check.Triangle(Items), Check.Sum(_sums), $"sum of items moved with {how} by {Thieves} thieves");
    }

    private readonly struct HalfMove : IMove
    {
        public static int Move(WorkStealingDeque<long> victim, WorkStealingDeque<long> own) => victim.StealHalf(own);
    }

    private readonly struct OneMove : IMove
    {
        public static int Move(WorkStealingDeque<long> victim, WorkStealingDeque<long> own)
        {
            if (!victim.TrySteal(out long item))
            {
                return 0;
            }

            own.Push(item);
            return 1;
        }
    }
}

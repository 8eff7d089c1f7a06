using BenchmarkDotNet.Attributes;
using Unjucks.Agents;

namespace Unjucks.Benchmarks.Agents;

/// <summary>
/// A flat flood of independent items submitted one by one from outside: the work-stealing scheduler against
/// the ThreadPool (UnsafeQueueUserWorkItem), Task.Run and Parallel.For (which partitions ranges instead of
/// scheduling items, the reference for flat loops). Items spin for about WorkNanoseconds.
/// The ThreadPool and Task.Run use the pool's own thread count; Parallel.For is capped at Workers.
/// </summary>
[MemoryDiagnoser]
public class SchedulerFlatBenchmarks
{
    private const int Items = 4096;
    private WorkStealingScheduler _scheduler = null!;
    private int _iterations;
    private int _remaining;
    private readonly ManualResetEventSlim _done = new();
    private Action _schedulerItem = null!;
    private Action<object?> _poolItem = null!;

    /// <summary>Worker threads of the scheduler (and Parallel.For's degree of parallelism).</summary>
    [Params(1, 2, 4, 8, 16)]
    public int Workers { get; set; }

    /// <summary>Approximate length of one item.</summary>
    [Params(100, 1000)]
    public int WorkNanoseconds { get; set; }

    /// <summary>Creates the scheduler and calibrates the spin loop.</summary>
    [GlobalSetup]
    public void Setup()
    {
        SpinWork.Calibrate();
        _iterations = SpinWork.IterationsFor(WorkNanoseconds);
        _scheduler = new WorkStealingScheduler(Workers);
        _schedulerItem = Item;
        _poolItem = _ => Item();
    }

    /// <summary>Stops the scheduler.</summary>
    [GlobalCleanup]
    public void Cleanup() => _scheduler.Dispose();

    private void Item()
    {
        SpinWork.Run(_iterations);
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _done.Set();
        }
    }

    private void Start()
    {
        _done.Reset();
        Volatile.Write(ref _remaining, Items);
    }

    private void Wait() => _done.Wait(TimeSpan.FromMinutes(1));

    /// <summary>Work-stealing scheduler, items injected from outside.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public void WorkStealing()
    {
        Start();
        for (int i = 0; i < Items; i++)
        {
            _scheduler.Schedule(_schedulerItem);
        }

        Wait();
    }

    /// <summary>ThreadPool.UnsafeQueueUserWorkItem from outside (global queue).</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public void ThreadPoolQueue()
    {
        Start();
        for (int i = 0; i < Items; i++)
        {
            ThreadPool.UnsafeQueueUserWorkItem(_poolItem, null, preferLocal: false);
        }

        Wait();
    }

    /// <summary>Task.Run per item, then WaitAll.</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public void TaskRun()
    {
        Start();
        var tasks = new Task[Items];
        for (int i = 0; i < Items; i++)
        {
            tasks[i] = Task.Run(_schedulerItem);
        }

        Task.WaitAll(tasks);
    }

    /// <summary>Parallel.For over the items (range partitioning; the flat-loop reference).</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public void ParallelFor()
    {
        int iterations = _iterations;
        Parallel.For(0, Items, new ParallelOptions { MaxDegreeOfParallelism = Workers }, _ => SpinWork.Run(iterations));
    }
}

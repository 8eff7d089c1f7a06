using BenchmarkDotNet.Attributes;
using Unjucks.Agents;

namespace Unjucks.Benchmarks.Agents;

/// <summary>
/// A recursive fork-join tree: every node spins for about WorkNanoseconds and schedules its two children
/// from inside the worker running it (work-stealing: own deque; ThreadPool: preferLocal: true; Task.Run:
/// the pool's local queue). A countdown over all nodes marks the join.
/// </summary>
[MemoryDiagnoser]
public class SchedulerForkJoinBenchmarks
{
    private const int Depth = 11;
    private const int Nodes = (1 << (Depth + 1)) - 1; // 4095
    private WorkStealingScheduler _scheduler = null!;
    private int _iterations;
    private int _remaining;
    private readonly ManualResetEventSlim _done = new();

    /// <summary>Worker threads of the scheduler.</summary>
    [Params(1, 2, 4, 8, 16)]
    public int Workers { get; set; }

    /// <summary>Approximate length of one node's work.</summary>
    [Params(100, 1000)]
    public int WorkNanoseconds { get; set; }

    /// <summary>Creates the scheduler and calibrates the spin loop.</summary>
    [GlobalSetup]
    public void Setup()
    {
        SpinWork.Calibrate();
        _iterations = SpinWork.IterationsFor(WorkNanoseconds);
        _scheduler = new WorkStealingScheduler(Workers);
    }

    /// <summary>Stops the scheduler.</summary>
    [GlobalCleanup]
    public void Cleanup() => _scheduler.Dispose();

    private void Finish()
    {
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _done.Set();
        }
    }

    private void Start()
    {
        _done.Reset();
        Volatile.Write(ref _remaining, Nodes);
    }

    private void Wait() => _done.Wait(TimeSpan.FromMinutes(1));

    private void WsNode(int level)
    {
        SpinWork.Run(_iterations);
        if (level < Depth)
        {
            int next = level + 1;
            _scheduler.Schedule(() => WsNode(next));
            _scheduler.Schedule(() => WsNode(next));
        }

        Finish();
    }

    private void PoolNode(int level)
    {
        SpinWork.Run(_iterations);
        if (level < Depth)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Self.PoolNode(s.Level), (Self: this, Level: level + 1), preferLocal: true);
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Self.PoolNode(s.Level), (Self: this, Level: level + 1), preferLocal: true);
        }

        Finish();
    }

    private void TaskNode(int level)
    {
        SpinWork.Run(_iterations);
        if (level < Depth)
        {
            int next = level + 1;
            _ = Task.Run(() => TaskNode(next));
            _ = Task.Run(() => TaskNode(next));
        }

        Finish();
    }

    /// <summary>Work-stealing scheduler: children go to the spawning worker's deque.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Nodes)]
    public void WorkStealing()
    {
        Start();
        _scheduler.Schedule(() => WsNode(0));
        Wait();
    }

    /// <summary>ThreadPool.UnsafeQueueUserWorkItem with preferLocal: true inside pool threads.</summary>
    [Benchmark(OperationsPerInvoke = Nodes)]
    public void ThreadPoolLocal()
    {
        Start();
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.PoolNode(0), this, preferLocal: false);
        Wait();
    }

    /// <summary>Task.Run for every node.</summary>
    [Benchmark(OperationsPerInvoke = Nodes)]
    public void TaskRun()
    {
        Start();
        _ = Task.Run(() => TaskNode(0));
        Wait();
    }
}

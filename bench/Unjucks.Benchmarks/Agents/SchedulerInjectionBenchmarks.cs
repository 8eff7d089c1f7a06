using BenchmarkDotNet.Attributes;
using Unjucks.Agents;

namespace Unjucks.Benchmarks.Agents;

/// <summary>
/// The measurement behind the injector choice (docs/agents.md): items submitted from outside go either to
/// one global MpmcQueue or to the inbox of the least-loaded worker (an O(workers) scan per submission).
/// Two shapes: one outside submitter, and four outside submitters at once.
/// </summary>
public class SchedulerInjectionBenchmarks
{
    private const int Items = 4096;
    private WorkStealingScheduler _scheduler = null!;
    private int _iterations;
    private int _remaining;
    private readonly ManualResetEventSlim _done = new();
    private Action _item = null!;

    /// <summary>Worker threads.</summary>
    [Params(1, 4, 16)]
    public int Workers { get; set; }

    /// <summary>True: least-loaded worker's inbox; false: global injector queue.</summary>
    [Params(false, true)]
    public bool LeastLoaded { get; set; }

    /// <summary>Creates the scheduler.</summary>
    [GlobalSetup]
    public void Setup()
    {
        SpinWork.Calibrate();
        _iterations = SpinWork.IterationsFor(100);
        _scheduler = new WorkStealingScheduler(Workers, LeastLoaded ? SchedulerInjection.LeastLoaded : SchedulerInjection.GlobalQueue);
        _item = () =>
        {
            SpinWork.Run(_iterations);
            if (Interlocked.Decrement(ref _remaining) == 0)
            {
                _done.Set();
            }
        };
    }

    /// <summary>Stops the scheduler.</summary>
    [GlobalCleanup]
    public void Cleanup() => _scheduler.Dispose();

    /// <summary>One thread submits every item.</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public void OneSubmitter()
    {
        _done.Reset();
        Volatile.Write(ref _remaining, Items);
        for (int i = 0; i < Items; i++)
        {
            _scheduler.Schedule(_item);
        }

        _done.Wait(TimeSpan.FromMinutes(1));
    }

    /// <summary>Four threads submit a quarter each.</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public void FourSubmitters()
    {
        _done.Reset();
        Volatile.Write(ref _remaining, Items);
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            for (int i = 0; i < Items / 4; i++)
            {
                _scheduler.Schedule(_item);
            }
        });
        _done.Wait(TimeSpan.FromMinutes(1));
    }
}

// A fixed set of dedicated benchmark threads, started once (in GlobalSetup) and released once per
// benchmark invocation, so that what BenchmarkDotNet measures is "release all workers .. last worker done"
// and never thread start-up.
//
// Workers park on events between rounds (SemaphoreSlim spins briefly, then blocks), never busy-spin
// waiting for a round, so thread counts far above the core count (16 workers on 2 cores) still make
// progress. What is measured on top of the work itself: waking T parked threads (a few microseconds
// each, overlapped with the work of the threads already woken) and one CountdownEvent signal per worker.
// Keep each worker's share of a round in the hundreds of microseconds or more so that this stays small.
using System.Runtime.ExceptionServices;

namespace Unjucks.Benchmarks.Harness;

/// <summary>T dedicated threads that run one body per round; see the file header.</summary>
public sealed class WorkerPool : IDisposable
{
    /// <summary>A round that has not finished after this long is a hang (a broken queue), not a slow run.</summary>
    public static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    private readonly Thread[] _threads;
    private readonly SemaphoreSlim[] _start;
    private readonly CountdownEvent _done;
    private Action<int>? _body;
    private Exception? _failure;
    private bool _stopping;

    /// <summary>Starts <paramref name="threads"/> parked worker threads.</summary>
    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _threads = new Thread[threads];
        _start = new SemaphoreSlim[threads];
        _done = new CountdownEvent(threads);
        for (int i = 0; i < threads; i++)
        {
            _start[i] = new SemaphoreSlim(0, 1);
            _threads[i] = new Thread(Loop) { IsBackground = true, Name = $"bench-worker-{i}" };
            _threads[i].Start(i);
        }
    }

    /// <summary>Number of workers.</summary>
    public int Count => _threads.Length;

    /// <summary>
    /// Runs <paramref name="body"/>(workerIndex) once on every worker and returns when all are done;
    /// rethrows the first exception a worker threw; throws <see cref="TimeoutException"/> after
    /// <see cref="HangGuard"/>.
    /// </summary>
    public void Run(Action<int> body)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        _body = body;
        _failure = null;
        _done.Reset(_threads.Length);
        // SemaphoreSlim.Release/Wait go through its internal Monitor: the plain writes of _body and
        // _failure above happen-before a worker's Wait returns (release here, acquire in Loop).
        foreach (var start in _start)
        {
            start.Release();
        }

        if (!_done.Wait(HangGuard))
        {
            throw new TimeoutException(
                $"{_threads.Length} benchmark workers did not finish a round within {HangGuard.TotalSeconds} s: " +
                "the structure under test probably lost an item or deadlocked.");
        }

        // CountdownEvent.Signal is an Interlocked decrement and Wait observes it: every worker's writes,
        // including _failure (set by CompareExchange before its Signal), are visible here.
        if (_failure is { } failure)
        {
            ExceptionDispatchInfo.Capture(failure).Throw();
        }
    }

    private void Loop(object? state)
    {
        int index = (int)state!;
        while (true)
        {
            _start[index].Wait();
            // _stopping is written before Dispose releases the semaphore; the Wait above acquires it.
            if (_stopping)
            {
                return;
            }

            try
            {
                _body!(index);
            }
            catch (Exception e)
            {
                // First failure wins; published to Run by the Signal below (Interlocked, full fence).
                Interlocked.CompareExchange(ref _failure, e, null);
            }
            finally
            {
                _done.Signal();
            }
        }
    }

    /// <summary>Stops and joins the workers (they are background threads, so a hung one cannot keep the process alive).</summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        foreach (var start in _start)
        {
            start.Release();
        }

        foreach (var thread in _threads)
        {
            thread.Join(TimeSpan.FromSeconds(5));
        }

        foreach (var start in _start)
        {
            start.Dispose();
        }

        _done.Dispose();
    }
}

// WorkStealingScheduler: N dedicated worker threads, each owning a Chase-Lev work-stealing deque.
//
// References: Blumofe & Leiserson, "Scheduling Multithreaded Computations by Work Stealing" (JACM 1999)
// for the policy (owner works LIFO on its own deque, thieves take the oldest work); Chase & Lev (SPAA 2005)
// for the deque (Unjucks.LockFree.WorkStealingDeque); Hendler & Shavit (2002) for stealing half; Go's and
// tokio's schedulers for the global injector, the 1-in-61 injector fairness check and the idle protocol.
//
// Where work goes:
//   - Schedule/QueueTask on one of this scheduler's workers: that worker's own deque (owner-only Push).
//   - Schedule/QueueTask from any other thread: the global MpmcQueue injector (default). The alternative,
//     SchedulerInjection.LeastLoaded (internal, kept for the benchmark that decided), scans the workers
//     for the smallest deque + inbox and enqueues into that worker's MpmcQueue inbox (the deque's Push is
//     owner-only, so an inbox is needed). docs/agents.md gives the measurements and the argument.
// How a worker finds work: own deque (LIFO) -> injector (takes a batch, keeps the rest in its deque where
//   others can steal it) -> steal half of the most loaded victim's deque -> random probes -> spin briefly ->
//   park (ParkingLot). Every 61st item it looks at the injector first so that a worker busy with its own
//   spawned work cannot starve outside submissions.
// Invariants: each item is run exactly once (deque and queue hand every item to one taker); a worker runs
//   only its own items and items it moved into its own deque; an exception from a Schedule(Action) item is
//   caught, counted and reported, never kills a worker; tasks carry their own exceptions.
// Dispose: drains. New outside Schedule calls throw ObjectDisposedException; everything already queued, and
//   everything that running items spawn, still runs; then the threads exit and Dispose joins them. Tasks
//   queued from outside after Dispose run on the .NET ThreadPool so that no awaiter is stranded (counted).
// Failure windows: an item that never returns holds its worker forever (its deque's other items get stolen);
//   an item that respawns itself forever makes Dispose wait forever (drain semantics).
using System.Diagnostics;
using Unjucks.LockFree;

namespace Unjucks.Agents;

/// <summary>
/// A work-stealing scheduler with <see cref="WorkerCount"/> dedicated threads. Use <see cref="Schedule"/> for
/// fire-and-forget actions and <see cref="TaskScheduler"/> for tasks (<c>Task.Factory.StartNew</c>, and
/// <c>await</c> continuations of code running on it). <see cref="Dispose"/> runs all queued work, then stops the threads.
/// </summary>
public sealed partial class WorkStealingScheduler : IDisposable
{
    private const int InjectorBatch = 8;
    private const int FairnessInterval = 61;
    private static readonly TimeSpan ParkTimeout = TimeSpan.FromMilliseconds(100);

    [ThreadStatic]
    private static SchedulerWorker? t_worker;

    private readonly SchedulerWorker[] _workers;
    private readonly MpmcQueue<object> _injector = new();
    private readonly SchedulerInjection _injection;
    private readonly AgentMetrics? _metrics;
    // Metrics only: items submitted and not yet started (the reported queue depth).
    private PaddedCounter _queued;
    private readonly ParkingLot _parking;
    private readonly WorkerTaskScheduler _taskScheduler;

    // Outside submitters in flight; Dispose waits for zero after setting _stopping (handshake in Submit).
    private PaddedCounter _submitting;
    // 0 running, 1 stopping (no new outside work); written once by Dispose.
    private PaddedCounter _stopping;
    // 1 once no outside submitter can still enqueue: workers may exit when they find nothing.
    private int _exitAllowed;
    private long _redirectedTasks;
    // Rotating start of the least-loaded scan, so that ties do not all go to worker 0.
    private PaddedCounter _roundRobin;

    /// <summary>Starts <paramref name="workerCount"/> worker threads.</summary>
    /// <param name="workerCount">Number of workers, 1 to 512.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="workerCount"/> is outside 1..512.</exception>
    public WorkStealingScheduler(int workerCount)
        : this(workerCount, SchedulerInjection.GlobalQueue, null)
    {
    }

    /// <summary>
    /// Starts <paramref name="workerCount"/> worker threads that report every item they run to
    /// <paramref name="metrics"/>: agent = worker index; duration = from the moment the worker started looking
    /// for the item (parked time excluded) to the item's end; user time = the item itself; queue time =
    /// submission to start; queue depth = items submitted and not yet started. Costs two timestamps, one
    /// small allocation and a shared counter per item.
    /// </summary>
    /// <param name="workerCount">Number of workers, 1 to 512.</param>
    /// <param name="metrics">Where to record; its <see cref="AgentMetrics.AgentCount"/> must equal <paramref name="workerCount"/>.</param>
    public WorkStealingScheduler(int workerCount, AgentMetrics? metrics)
        : this(workerCount, SchedulerInjection.GlobalQueue, metrics)
    {
    }

    /// <summary>Starts the workers with the given injection policy (benchmarks compare the two).</summary>
    internal WorkStealingScheduler(int workerCount, SchedulerInjection injection, AgentMetrics? metrics = null)
    {
        if (workerCount is < 1 or > 512)
        {
            throw new ArgumentOutOfRangeException(nameof(workerCount), workerCount,
                "workerCount must be between 1 and 512; use Environment.ProcessorCount for one worker per core.");
        }

        if (metrics is not null && metrics.AgentCount != workerCount)
        {
            throw new ArgumentException(
                $"The metrics track {metrics.AgentCount} agents but the scheduler has {workerCount} workers; create AgentMetrics with agentCount = workerCount.",
                nameof(metrics));
        }

        WorkerCount = workerCount;
        _injection = injection;
        _metrics = metrics;
        _parking = new ParkingLot(workerCount);
        _taskScheduler = new WorkerTaskScheduler(this);
        _workers = new SchedulerWorker[workerCount];
        for (int i = 0; i < workerCount; i++)
        {
            _workers[i] = new SchedulerWorker(this, i);
        }

        foreach (var w in _workers)
        {
            w.Thread = new Thread(static s => ((SchedulerWorker)s!).Owner.WorkerLoop((SchedulerWorker)s!))
            {
                IsBackground = true,
                Name = $"Unjucks worker {w.Index}",
            };
            w.Thread.Start(w);
        }
    }

    /// <summary>Number of worker threads.</summary>
    public int WorkerCount { get; }

    /// <summary>A <see cref="System.Threading.Tasks.TaskScheduler"/> that runs tasks on this scheduler's workers.</summary>
    public TaskScheduler TaskScheduler => _taskScheduler;

    /// <summary>True when the calling thread is one of this scheduler's workers.</summary>
    public bool IsCurrentThreadWorker => t_worker?.Owner == this;

    /// <summary>Index of the calling worker thread of this scheduler, or -1 on any other thread.</summary>
    public int CurrentWorkerIndex => t_worker is { } w && w.Owner == this ? w.Index : -1;

    /// <summary>Exceptions thrown by <see cref="Schedule"/> items so far (all workers).</summary>
    public long UnhandledExceptionCount
    {
        get
        {
            long sum = 0;
            foreach (var w in _workers)
            {
                sum += Volatile.Read(ref w.Counters.Exceptions); // pairs with WorkerCounters.Add
            }

            return sum;
        }
    }

    /// <summary>Tasks queued from outside after <see cref="Dispose"/> began, which ran on the .NET ThreadPool instead.</summary>
    public long TasksRedirectedAfterDispose => Interlocked.Read(ref _redirectedTasks);

    /// <summary>
    /// Raised on the worker thread when an item passed to <see cref="Schedule"/> throws. The worker goes on;
    /// an exception thrown by a handler is swallowed.
    /// </summary>
    public event EventHandler<WorkItemFailedEventArgs>? UnhandledException;

    /// <summary>
    /// Queues <paramref name="work"/>: to the calling worker's own deque when called on a worker of this
    /// scheduler, otherwise to the global injector queue.
    /// </summary>
    /// <param name="work">The action to run once.</param>
    /// <exception cref="ObjectDisposedException">Called from outside the workers after <see cref="Dispose"/> began.</exception>
    public void Schedule(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (!Submit(work))
        {
            throw new ObjectDisposedException(nameof(WorkStealingScheduler),
                "The scheduler is disposed: it no longer accepts work from outside its workers. Create a new one.");
        }
    }

    /// <summary>Per-worker statistics (a snapshot; each counter is read atomically, not all at one instant).</summary>
    /// <returns>One entry per worker, by index.</returns>
    public IReadOnlyList<WorkerStatistics> GetStatistics()
    {
        var result = new WorkerStatistics[_workers.Length];
        foreach (var w in _workers)
        {
            // Acquire loads; pair with the owner's release stores in WorkerCounters.Add.
            result[w.Index] = new WorkerStatistics(
                w.Index,
                Volatile.Read(ref w.Counters.Executed),
                Volatile.Read(ref w.Counters.Stolen),
                Volatile.Read(ref w.Counters.StealAttempts),
                Stopwatch.GetElapsedTime(0, Volatile.Read(ref w.Counters.ParkedTicks)),
                Volatile.Read(ref w.Counters.Parks),
                Volatile.Read(ref w.Counters.Exceptions));
        }

        return result;
    }

    /// <summary>
    /// Stops accepting work from outside, runs everything already queued (and whatever that work spawns on
    /// the workers), then stops the threads. Called from outside, it waits for the threads to exit; called
    /// from one of the workers, it returns at once and the workers exit after draining. Idempotent.
    /// </summary>
    public void Dispose()
    {
        // Full fence: orders the stop flag before the load of _submitting below; pairs with the
        // Interlocked.Increment in Submit (claim, then load the flag). Either the submitter sees the flag and
        // backs out, or we see its claim and wait for its enqueue to finish.
        if (Interlocked.Exchange(ref _stopping.Value, 1) != 0)
        {
            JoinWorkers();
            return;
        }

        var spin = new SpinWait();
        // Acquire load; pairs with the Decrement in Submit, so reading zero makes every accepted enqueue
        // visible here. Submitters are between two Interlocked operations (short); SpinOnce yields and then
        // sleeps if one of them was preempted.
        while (Volatile.Read(ref _submitting.Value) != 0)
        {
            spin.SpinOnce();
        }

        // Release: orders every outside enqueue (finished before _submitting hit zero) before the flag;
        // pairs with the acquire load in SpinThenPark, after which the worker rescans the injector once more.
        Volatile.Write(ref _exitAllowed, 1);
        _parking.WakeAll(_workers);
        JoinWorkers();
    }

    private void JoinWorkers()
    {
        if (IsCurrentThreadWorker)
        {
            return; // joining ourselves would deadlock; the workers drain and exit on their own
        }

        foreach (var w in _workers)
        {
            w.Thread!.Join();
        }
    }

    /// <summary>Queues an action or a task; false when the scheduler is stopping and the caller is outside it.</summary>
    internal bool Submit(object item)
    {
        var worker = t_worker;
        if (worker is not null && worker.Owner == this)
        {
            worker.Deque.Push(Timed(item));
            _parking.NotifyWorkAvailable();
            return true;
        }

        // Full fence: publishes our claim before the load of _stopping; pairs with the Exchange in Dispose.
        Interlocked.Increment(ref _submitting.Value);
        try
        {
            // Acquire load of the stop flag, after our claim (full fence above).
            if (Volatile.Read(ref _stopping.Value) != 0)
            {
                return false;
            }

            item = Timed(item);
            if (_injection == SchedulerInjection.GlobalQueue)
            {
                _injector.Enqueue(item);
            }
            else
            {
                var target = LeastLoaded();
                // Count first (full fence), then enqueue: the count never under-states what is visible, so
                // a parking worker's rescan (AnyVisibleWork) cannot miss the item; pairs with the Decrement
                // after a successful dequeue in TakeFromInbox/TrySteal.
                Interlocked.Increment(ref target.InboxCount.Value);
                target.Inbox.Enqueue(item);
            }
        }
        finally
        {
            // Release of the claim; Dispose's acquire load of zero then sees the enqueue above.
            Interlocked.Decrement(ref _submitting.Value);
        }

        _parking.NotifyWorkAvailable();
        return true;
    }

    /// <summary>With metrics: wraps the item with its submission time and counts it as queued.</summary>
    private object Timed(object item)
    {
        if (_metrics is not { } metrics)
        {
            return item;
        }

        // Statistics only (atomic so that concurrent submitters and workers keep an exact count).
        metrics.RecordQueueDepth(Interlocked.Increment(ref _queued.Value));
        return new TimedItem(item, Stopwatch.GetTimestamp());
    }

    private SchedulerWorker LeastLoaded()
    {
        var workers = _workers;
        int n = workers.Length;
        // Interlocked only to spread ties; the value needs no ordering with anything else.
        int start = (int)((ulong)Interlocked.Increment(ref _roundRobin.Value) % (ulong)n);
        SchedulerWorker best = workers[start];
        long bestLoad = long.MaxValue;
        for (int k = 0; k < n; k++)
        {
            var w = workers[(start + k) % n];
            // Racy snapshot (acquire load of the count); a stale value costs balance, never correctness.
            long load = w.Deque.Count + Volatile.Read(ref w.InboxCount.Value);
            if (load < bestLoad)
            {
                bestLoad = load;
                best = w;
                if (load == 0)
                {
                    break;
                }
            }
        }

        return best;
    }

    private void RedirectToThreadPool(Task task)
    {
        Interlocked.Increment(ref _redirectedTasks); // statistics only
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Scheduler.Execute(s.Task), (Scheduler: _taskScheduler, Task: task), preferLocal: false);
    }
}

/// <summary>Where submissions from outside the workers go.</summary>
internal enum SchedulerInjection
{
    /// <summary>One global MpmcQueue that every worker polls (the default).</summary>
    GlobalQueue,
    /// <summary>The inbox of the worker with the smallest deque + inbox at submission time.</summary>
    LeastLoaded,
}

/// <summary>An item with its submission timestamp (only when the scheduler records metrics).</summary>
internal sealed class TimedItem
{
    public TimedItem(object item, long enqueuedAt)
    {
        Item = item;
        EnqueuedAt = enqueuedAt;
    }

    public object Item { get; }

    public long EnqueuedAt { get; }
}

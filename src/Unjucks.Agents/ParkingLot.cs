// ParkingLot: where idle workers of a WorkStealingScheduler sleep, and how producers wake them without
// lost wake-ups.
//
// Protocol (a Dekker-style handshake, as in tokio's idle/notify and Go's runtime "spinning" protocol):
//   producer:  publish item (deque push / injector enqueue)  ->  FULL FENCE  ->  load IdleCount
//   worker:    register (IdleCount++ with Interlocked = FULL FENCE)  ->  rescan every queue  ->  park
// With both fences, at least one side sees the other: either the worker's rescan sees the item (it
// unregisters and runs it) or the producer sees IdleCount > 0 and wakes a registered worker, which rescans.
// A worker found on the idle stack is popped and signalled exactly once; a worker that unregisters itself
// (it found work on its rescan) is awake and will rescan everything before parking again, so the item that
// triggered the wake is still seen by someone. Extra signals (a release for a worker that already left the
// stack) only cause one spurious wake-up and rescan: a SemaphoreSlim never holds more than one such signal
// per registration.
//
// The idle stack is guarded by a lock: it is touched only on the slow paths (parking, waking a parked
// worker), never when every worker is busy, where producers pay one fence and one shared load.
// Failure window: a worker preempted between its registration and its wait delays nothing (the signal
// stays in its semaphore), and the park timeout bounds any wait even if this reasoning had a hole.
namespace Unjucks.Agents;

internal sealed class ParkingLot
{
    private readonly object _lock = new();
    private readonly List<SchedulerWorker> _idle;
    private PaddedCounter _idleCount;

    public ParkingLot(int workers) => _idle = new List<SchedulerWorker>(workers);

    /// <summary>Registered idle workers (snapshot).</summary>
    public long IdleCount => Volatile.Read(ref _idleCount.Value); // acquire; diagnostic snapshot, orders nothing

    /// <summary>Registers <paramref name="worker"/> as idle. Its return is a full fence: the caller's rescan
    /// cannot be reordered before the registration.</summary>
    public void Register(SchedulerWorker worker)
    {
        lock (_lock)
        {
            _idle.Add(worker);
            worker.OnIdleStack = true;
            // Full fence: orders this registration before the caller's rescan loads; pairs with the
            // MemoryBarrier in NotifyWorkAvailable (publish item -> fence -> load IdleCount).
            Interlocked.Increment(ref _idleCount.Value);
        }
    }

    /// <summary>Removes <paramref name="worker"/> if still registered; false when a producer already popped
    /// (and signalled) it.</summary>
    public bool TryUnregister(SchedulerWorker worker)
    {
        lock (_lock)
        {
            if (!worker.OnIdleStack)
            {
                return false;
            }

            worker.OnIdleStack = false;
            _idle.Remove(worker);
            // Under the lock; Interlocked only so that lock-free readers of IdleCount see a whole value.
            Interlocked.Decrement(ref _idleCount.Value);
            return true;
        }
    }

    /// <summary>Called by producers after publishing work.</summary>
    public void NotifyWorkAvailable()
    {
        // Full fence: orders the caller's publish (deque push, injector enqueue) before the load of the idle
        // count; pairs with the Interlocked.Increment in Register. Without it the load could pass the store
        // and both sides could miss each other (lost wake-up).
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _idleCount.Value) > 0)
        {
            WakeOne();
        }
    }

    /// <summary>Wakes the most recently parked worker, if any.</summary>
    public void WakeOne()
    {
        SchedulerWorker? worker = null;
        lock (_lock)
        {
            int n = _idle.Count;
            if (n > 0)
            {
                worker = _idle[n - 1];
                _idle.RemoveAt(n - 1);
                worker.OnIdleStack = false;
                // Under the lock; Interlocked so that the lock-free load in NotifyWorkAvailable sees a whole
                // value. A producer that still reads the old count only takes the lock and finds the stack empty.
                Interlocked.Decrement(ref _idleCount.Value);
            }
        }

        worker?.Signal.Release();
    }

    /// <summary>Clears the idle stack and signals every worker (shutdown).</summary>
    public void WakeAll(SchedulerWorker[] workers)
    {
        lock (_lock)
        {
            foreach (var w in _idle)
            {
                w.OnIdleStack = false;
            }

            _idle.Clear();
            // Under the lock, like the other updates; pairs with the lock-free load in NotifyWorkAvailable.
            Interlocked.Exchange(ref _idleCount.Value, 0);
        }

        // Signal everyone, registered or not: a worker that registers after the clear above still finds a
        // signal in its semaphore and rechecks the shutdown flag.
        foreach (var w in workers)
        {
            w.Signal.Release();
        }
    }
}

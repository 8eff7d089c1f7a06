// The worker loop of WorkStealingScheduler: find work, run it, steal, spin, park. See the header of
// WorkStealingScheduler.cs for the policy and ParkingLot.cs for the parking protocol.
using System.Diagnostics;

namespace Unjucks.Agents;

public sealed partial class WorkStealingScheduler
{
    private void WorkerLoop(SchedulerWorker w)
    {
        t_worker = w;
        w.SearchStartedAt = Stopwatch.GetTimestamp();
        while (true)
        {
            var item = FindWork(w);
            if (item is not null)
            {
                Execute(w, item);
                continue;
            }

            if (!SpinThenPark(w))
            {
                break;
            }
        }

        t_worker = null;
    }

    private object? FindWork(SchedulerWorker w)
    {
        object? item;
        if (++w.Tick >= FairnessInterval)
        {
            w.Tick = 0;
            if (TakeFromInbox(w, out item) || TakeFromInjector(w, out item))
            {
                return item;
            }
        }

        if (w.Deque.TryPop(out item))
        {
            return item;
        }

        if (TakeFromInbox(w, out item) || TakeFromInjector(w, out item))
        {
            return item;
        }

        return TrySteal(w);
    }

    /// <summary>Takes one item from the own inbox (least-loaded injection).</summary>
    private static bool TakeFromInbox(SchedulerWorker w, out object? item)
    {
        // Acquire load; pairs with the Increment in Submit. Zero means nothing was addressed to us.
        if (Volatile.Read(ref w.InboxCount.Value) > 0 && w.Inbox.TryDequeue(out item))
        {
            Interlocked.Decrement(ref w.InboxCount.Value); // after the dequeue: the count never under-states
            return true;
        }

        item = null;
        return false;
    }

    /// <summary>Takes one item from the injector and moves up to InjectorBatch-1 more into the own deque.</summary>
    private bool TakeFromInjector(SchedulerWorker w, out object? item)
    {
        if (!_injector.TryDequeue(out item))
        {
            return false;
        }

        int moved = 0;
        while (moved < InjectorBatch - 1 && _injector.TryDequeue(out var extra))
        {
            w.Deque.Push(extra);
            moved++;
        }

        if (moved > 0 || !_injector.IsEmpty)
        {
            // More work is visible than we will run right now: let one sleeper come and steal or dequeue it.
            _parking.NotifyWorkAvailable();
        }

        return true;
    }

    private object? TrySteal(SchedulerWorker w)
    {
        var workers = _workers;
        int n = workers.Length;
        if (n == 1)
        {
            return null;
        }

        // Most loaded victim first (Count is a racy snapshot; a wrong choice costs one failed attempt).
        SchedulerWorker? victim = null;
        int best = 0;
        foreach (var v in workers)
        {
            if (v != w)
            {
                int c = v.Deque.Count;
                if (c > best)
                {
                    best = c;
                    victim = v;
                }
            }
        }

        if (victim is not null && StealFrom(w, victim) is { } stolen)
        {
            return stolen;
        }

        // Then random probes, once around the ring from a random start.
        int start = w.NextRandom(n);
        for (int k = 0; k < n; k++)
        {
            var v = workers[(start + k) % n];
            if (v != w && StealFrom(w, v) is { } got)
            {
                return got;
            }
        }

        // Least-loaded injection: other workers' inboxes are multi-consumer queues; take from them too.
        for (int k = 0; k < n; k++)
        {
            var v = workers[(start + k) % n];
            if (v != w && TakeFromInbox(v, out var fromInbox))
            {
                WorkerCounters.Add(ref w.Counters.Stolen, 1);
                return fromInbox;
            }
        }

        return null;
    }

    private object? StealFrom(SchedulerWorker thief, SchedulerWorker victim)
    {
        WorkerCounters.Add(ref thief.Counters.StealAttempts, 1);
        int got = victim.Deque.StealHalf(thief.Deque);
        if (got == 0)
        {
            return null;
        }

        WorkerCounters.Add(ref thief.Counters.Stolen, got);
        if (got > 1)
        {
            _parking.NotifyWorkAvailable(); // we now hold spare work others could take
        }

        return thief.Deque.TryPop(out var item) ? item : null;
    }

    private void Execute(SchedulerWorker w, object item)
    {
        long enqueuedAt = 0, started = 0;
        if (item is TimedItem timed)
        {
            item = timed.Item;
            enqueuedAt = timed.EnqueuedAt;
            started = Stopwatch.GetTimestamp();
            Interlocked.Decrement(ref _queued.Value); // statistics only; pairs with the Increment in Timed
        }

        if (item is Task task)
        {
            _taskScheduler.Execute(task); // exceptions are stored in the task
        }
        else
        {
            try
            {
                ((Action)item)();
            }
            catch (Exception ex)
            {
                WorkerCounters.Add(ref w.Counters.Exceptions, 1);
                try
                {
                    UnhandledException?.Invoke(this, new WorkItemFailedEventArgs(w.Index, ex));
                }
                catch (Exception)
                {
                    // A failing handler must not kill the worker either.
                }
            }
        }

        WorkerCounters.Add(ref w.Counters.Executed, 1);
        if (enqueuedAt != 0 && _metrics is { } metrics)
        {
            long ended = Stopwatch.GetTimestamp();
            metrics.RecordOperation(w.Index,
                Stopwatch.GetElapsedTime(w.SearchStartedAt, ended),
                Stopwatch.GetElapsedTime(started, ended),
                Stopwatch.GetElapsedTime(enqueuedAt, started));
            w.SearchStartedAt = ended;
        }
    }

    /// <summary>True when any queue holds work (racy snapshot, used before parking).</summary>
    private bool AnyVisibleWork()
    {
        if (!_injector.IsEmpty)
        {
            return true;
        }

        foreach (var v in _workers)
        {
            // Acquire load of the inbox count; pairs with the Increment in Submit.
            if (v.Deque.Count > 0 || Volatile.Read(ref v.InboxCount.Value) > 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Spins briefly, then parks. Returns false when the worker should exit.</summary>
    private bool SpinThenPark(SchedulerWorker w)
    {
        // Acquire: pairs with the release in Dispose; after it every outside enqueue is visible, so one more
        // full search decides whether the worker may exit.
        if (Volatile.Read(ref _exitAllowed) != 0)
        {
            var last = FindWork(w);
            if (last is null)
            {
                return false;
            }

            Execute(w, last);
            return true;
        }

        for (int i = 0; i < 4; i++)
        {
            Thread.SpinWait(30 << i);
            if (AnyVisibleWork())
            {
                return true;
            }
        }

        _parking.Register(w); // full fence inside: the rescan below cannot move before it
        // The exit flag is read with acquire (pairs with the release in Dispose). If we miss it here, Dispose's
        // WakeAll, which follows the flag, leaves a signal in our semaphore, so the wait below returns at once.
        if (AnyVisibleWork() || Volatile.Read(ref _exitAllowed) != 0)
        {
            _parking.TryUnregister(w); // false: a producer popped us and left a signal; harmless spurious wake later
            return true;
        }

        long parkedAt = Stopwatch.GetTimestamp();
        w.Signal.Wait(ParkTimeout);
        long woke = Stopwatch.GetTimestamp();
        WorkerCounters.Add(ref w.Counters.ParkedTicks, woke - parkedAt);
        w.SearchStartedAt = woke; // parked time is idle, not coordination
        WorkerCounters.Add(ref w.Counters.Parks, 1);
        _parking.TryUnregister(w); // timed out: still on the stack
        return true;
    }
}

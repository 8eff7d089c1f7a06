// FutexWaiterThread: the one thread per region that sleeps for every parked async wait (DequeueAsync,
// EnqueueAsync, WaitForChangeAsync), so that a parked waiter holds no thread of its own.
//
// Reference: futex_waitv(2) (Documentation/userspace-api/futex2.rst); the "one reactor thread, many parked
// continuations" shape of an event loop. The thread keeps the parked waits grouped by futex word; each round it
// reads every word, wakes the waits that the change admits (Scan), and sleeps in ONE futex_waitv on all words
// that still have waiters (at most 127) plus its own private wake word. A new registration bumps the wake word,
// so the thread re-reads its set without waiting out the slice. Woken waits complete their ValueTask with
// RunContinuationsAsynchronously: callers' continuations run on the thread pool, never on this thread.
//
// Lost-wake-up argument (the same store/load pairing as ChangeSequence and SharedMessageQueue's blocking calls):
//   caller (async wait)  : waiters++ (full fence) ; o = read word ; retry ; register (o) -> thread reads word w
//   other side (progress): publish/free (full fence) ; read waiters ; if non-zero: word++ (full fence) ; wake
// Either the other side's read of waiters sees the caller's increment (then it bumps the word, after the
// caller's retry failed, so w != o or the futex_waitv compare fails or the wake reaches the thread), or the
// caller's retry, which follows its increment, sees the progress. The thread arms futex_waitv with the value w
// it read itself: a bump after that read makes the kernel's compare fail (EAGAIN) or wakes the thread.
// Registration against the thread's sleep:  registrar: enqueue ; wake++ (full fence) ; read _sleeping.
// thread: _sleeping = 1 (full fence) ; s = read wake ; drain queue ; futex_waitv(wake == s, ...). Either the drain
// sees the entry, or the registrar's increment comes after the thread's read of the wake word (compare fails),
// or the registrar sees _sleeping and wakes it.
//
// Who may touch the mapping: the thread (Dispose stops and joins it before unmapping), and callers and
// cancellation callbacks while they hold the region's blocking guard (Dispose waits for those after the join).
// Hence the waiter count is taken per park and given back by whoever completes the ParkedWait, not in the
// caller's finally: a caller's continuation may run after the region is unmapped.
//
// Failure windows: a side that dies between its publish and its bump, a woken waiter whose retry is beaten, a
// slot held by a stopped agent: each parked wait is woken to retry at least every PollSlice (100 ms), as the
// blocking calls retry every 50 ms slice. More than 127 distinct words in use, or no futex_waitv (ENOSYS, Linux
// before 5.16): the thread re-reads every word each 1 ms instead of sleeping on them (a bounded poll).
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory;

internal sealed unsafe class FutexWaiterThread
{
    /// <summary>Name of the thread (also its /proc comm, truncated to 15 characters).</summary>
    internal const string ThreadName = "unjucks-waiter";

    private static readonly TimeSpan PollSlice = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan OverflowSlice = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan IdleSlice = TimeSpan.FromSeconds(10); // nothing parked: only Register or Stop wakes us
    private static readonly long PollTicks = (long)(PollSlice.TotalSeconds * Stopwatch.Frequency);

    private readonly SharedRegion _region;
    private readonly ConcurrentQueue<ParkedWait> _incoming = new();
    private readonly Dictionary<WaitWord, List<ParkedWait>> _parked = []; // owned by the thread
    private readonly List<WaitWord> _emptied = []; // owned by the thread
    private readonly int[] _wake = GC.AllocateArray<int>(32, pinned: true); // [0] is the private wake word
    private readonly FutexWaitvEntry[] _vector = GC.AllocateArray<FutexWaitvEntry>(FutexWaitv.MaxWords, pinned: true);
    private readonly bool _useWaitv;
    private readonly Thread _thread;
    private int _sleeping;
    private int _stopping;
    private Exception? _fault;

    internal FutexWaiterThread(SharedRegion region, bool useWaitv)
    {
        _region = region;
        _useWaitv = useWaitv;
        // Background: a parked wait must not keep the process alive.
        _thread = new Thread(Run) { IsBackground = true, Name = ThreadName };
    }

    /// <summary>Whether the thread sleeps in futex_waitv (false: the bounded 1 ms poll).</summary>
    internal bool UsesWaitv => _useWaitv;

    internal void Start() => _thread.Start();

    // SAFETY: _wake is pinned for this object's lifetime.
    private ref int WakeWord => ref _wake[0];

    /// <summary>Parks <paramref name="wait"/> until its word changes, <paramref name="cancellationToken"/> is
    /// cancelled or the region is disposed. The caller holds the region's blocking guard and has taken the
    /// waiter count that <paramref name="wait"/> now owns.</summary>
    internal void Register(ParkedWait wait, CancellationToken cancellationToken)
    {
        // Before the enqueue, so the registration is set before anyone can complete the wait and its caller
        // dispose it. An already cancelled token runs the callback here (under our caller's guard).
        wait.Registration = cancellationToken.UnsafeRegister(static (state, token) => ((FutexWaiterThread)((object[])state!)[0]).Cancel((ParkedWait)((object[])state)[1], token), new object[] { this, wait });
        _incoming.Enqueue(wait);
        // Full fence: orders the enqueue before the reads of _stopping and _sleeping below; pairs with the
        // thread's Exchange of _sleeping and its read of the wake word (header: registration against the sleep).
        Interlocked.Increment(ref WakeWord);
        if (Volatile.Read(ref _stopping) != 0) // pairs with the Exchange in Stop: the thread's last drain may miss us
        {
            wait.TryFail(StoppedError());
        }
        else if (Volatile.Read(ref _sleeping) != 0) // pairs with the thread's Exchange of _sleeping
        {
            Futex.WakePrivate((int*)Unsafe.AsPointer(ref WakeWord), 1); // SAFETY: pinned array element
        }
    }

    /// <summary>Stops the thread: pending waits end with ObjectDisposedException. False if it did not stop within <paramref name="bound"/>.</summary>
    internal bool Stop(TimeSpan bound)
    {
        Interlocked.Exchange(ref _stopping, 1); // full fence: a registrar after this sees it (pairs with Register's read)
        Interlocked.Increment(ref WakeWord); // full fence: the thread's armed compare fails, or it reads _stopping after this
        Futex.WakePrivate((int*)Unsafe.AsPointer(ref WakeWord), 1); // SAFETY: pinned array element
        return !_thread.IsAlive || _thread.Join(bound);
    }

    private void Cancel(ParkedWait wait, CancellationToken token)
    {
        if (!_region.TryEnterBlocking(out SharedRegion.BlockingGuard guard))
        {
            return; // disposed: the thread ends every pending wait before the region unmaps
        }

        using (guard)
        {
            wait.TryFail(new OperationCanceledException(token));
        }
    }

    private void Run()
    {
        try
        {
            Loop();
        }
        catch (Exception e)
        {
            // Never an unhandled exception on this thread (it would end the process): fail what is parked and
            // every later registration with the cause.
            // Plain store, published by the full-fence Exchange below (pairs with the acquire load in StoppedError).
            _fault = new InvalidOperationException($"The async waiter thread of region '{_region.FilePath}' failed; async waits on this region instance cannot park any more. Dispose it and open the region again.", e);
            Interlocked.Exchange(ref _stopping, 1); // full fence: later registrars fail at once (pairs with Register's read)
        }

        FailAll();
    }

    private void Loop()
    {
        long nextPoll = Stopwatch.GetTimestamp() + PollTicks;
        while (true)
        {
            // Full fence: the store is visible before we read the wake word; pairs with Register's read of _sleeping.
            Interlocked.Exchange(ref _sleeping, 1);
            int wakeSeen = Volatile.Read(ref WakeWord); // acquire; armed below, so any later registration fails the compare
            if (Volatile.Read(ref _stopping) != 0) // acquire; pairs with Stop's Exchange
            {
                return;
            }

            while (_incoming.TryDequeue(out ParkedWait? wait))
            {
                if (wait.IsPending)
                {
                    Watch(wait.Word).Add(wait);
                }
            }

            long now = Stopwatch.GetTimestamp();
            bool poll = now - nextPoll >= 0;
            if (poll || _parked.Count == 0)
            {
                nextPoll = now + PollTicks; // the next bounded retry is one slice after the first wait parks
            }

            int count = Arm(wakeSeen, poll, out bool overflow);
            TimeSpan timeout = count == 1 ? IdleSlice : overflow || !_useWaitv ? OverflowSlice : Stopwatch.GetElapsedTime(now, nextPoll);
            if (_useWaitv)
            {
                // SAFETY: the vector is pinned; its shared words lie in the mapping, alive until Stop joins us.
                fixed (FutexWaitvEntry* vector = _vector)
                {
                    FutexWaitv.Wait(vector, count, timeout);
                }
            }
            else
            {
                // SAFETY: pinned array element.
                Futex.WaitPrivate((int*)Unsafe.AsPointer(ref WakeWord), wakeSeen, timeout);
            }

            Volatile.Write(ref _sleeping, 0); // release; no partner needed: a registrar that reads 1 only wakes us needlessly
        }
    }

    /// <summary>Scans every watched word and fills the vector: entry 0 is the wake word, then one entry per word
    /// that still has waiters. Overflow: more words than the vector holds.</summary>
    private int Arm(int wakeSeen, bool poll, out bool overflow)
    {
        _vector[0] = new FutexWaitvEntry
        {
            Value = (uint)wakeSeen,
            Address = (ulong)Unsafe.AsPointer(ref WakeWord), // SAFETY: pinned array element
            Flags = FutexWaitv.PrivateU32,
        };
        int count = 1;
        overflow = false;
        foreach ((WaitWord word, List<ParkedWait> waits) in _parked)
        {
            // Acquire: pairs with the other side's full-fence bump; the value futex_waitv compares against.
            uint current = (uint)Volatile.Read(ref *word.Address); // SAFETY: the word lies in the live mapping
            Scan(word, waits, current, poll);
            if (waits.Count == 0)
            {
                _emptied.Add(word);
            }
            else if (count < FutexWaitv.MaxWords)
            {
                _vector[count++] = new FutexWaitvEntry { Value = current, Address = (ulong)word.Address, Flags = FutexWaitv.SharedU32 };
            }
            else
            {
                overflow = true;
            }
        }

        foreach (WaitWord word in _emptied)
        {
            _parked.Remove(word);
        }

        _emptied.Clear();
        return count;
    }

    /// <summary>
    /// Wakes the waits on one word that its change admits, in registration order. A wait that observed o has
    /// seen its retry fail since; (current - o) bumps happened after, each standing for one message or slot.
    /// Waking a wait hands it one bump; a later wait whose bumps are all handed to earlier waits keeps sleeping
    /// with its observed value moved to current: every message published since it looked is being retried for
    /// by a woken wait (each retries until it takes one or finds the queue empty), so none is stranded.
    /// </summary>
    private static void Scan(WaitWord word, List<ParkedWait> waits, uint current, bool poll)
    {
        bool all = word.WakesAll;
        uint handed = 0;
        int kept = 0;
        for (int i = 0; i < waits.Count; i++)
        {
            ParkedWait wait = waits[i];
            if (!wait.IsPending)
            {
                continue; // cancelled: drop it (it gave its count back itself)
            }

            uint bumps = current - wait.Observed; // wrapping difference of the 32-bit word
            if (poll || (bumps != 0 && (all || bumps > handed)))
            {
                if (wait.TryWake())
                {
                    handed++; // a wait cancelled meanwhile takes no bump: the next one gets it
                }

                continue;
            }

            wait.Observed = current;
            waits[kept++] = wait;
        }

        waits.RemoveRange(kept, waits.Count - kept);
    }

    private List<ParkedWait> Watch(WaitWord word)
    {
        if (!_parked.TryGetValue(word, out List<ParkedWait>? waits))
        {
            waits = [];
            _parked.Add(word, waits);
        }

        return waits;
    }

    private Exception StoppedError() => Volatile.Read(ref _fault) ?? SharedRegion.DisposedError(); // acquire; set before _stopping

    private void FailAll()
    {
        Exception disposed = StoppedError();
        foreach (List<ParkedWait> waits in _parked.Values)
        {
            foreach (ParkedWait wait in waits)
            {
                wait.TryFail(disposed);
            }
        }

        _parked.Clear();
        while (_incoming.TryDequeue(out ParkedWait? wait))
        {
            wait.TryFail(disposed);
        }
    }
}

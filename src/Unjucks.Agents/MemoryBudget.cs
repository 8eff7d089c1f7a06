// MemoryBudget: a global byte budget with first-in-first-out waiters (a counting semaphore over bytes).
//
// Reference: the seed's MemoryAwareConcurrentScheduler (128 MiB default), made fair: a request that does
// not fit waits behind every earlier request, so a large request at the head blocks later small ones and
// cannot be starved by a stream of small ones (the "convoy" this costs is the price of no starvation).
// Invariants (under _lock): 0 <= _inUse <= Capacity; a waiter is either in _waiters (not granted, bytes not
// counted) or Done (granted and counted, or canceled and never counted), never both; grants happen only
// from the head. Completions (TrySetResult/TrySetCanceled) run outside the lock, asynchronously.
// Failure window: a lease that is never disposed holds its bytes forever (no finalizer by design: leaks
// should show up as a full budget in tests, not be hidden by the GC).
using System.Diagnostics.CodeAnalysis;

namespace Unjucks.Agents;

/// <summary>A global byte budget; callers reserve bytes before memory-heavy work and release them by disposing the lease.</summary>
public sealed class MemoryBudget
{
    /// <summary>The seed's default budget: 128 MiB.</summary>
    public const long DefaultCapacity = 128L * 1024 * 1024;

    private readonly object _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private long _inUse;
    private long _peakInUse;
    private long _nextTicket;

    /// <summary>Creates a budget of <paramref name="capacityBytes"/> bytes.</summary>
    /// <param name="capacityBytes">Total bytes (positive); default 128 MiB.</param>
    public MemoryBudget(long capacityBytes = DefaultCapacity)
    {
        if (capacityBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacityBytes), capacityBytes, "The memory budget must be a positive number of bytes.");
        }

        Capacity = capacityBytes;
    }

    /// <summary>Total bytes.</summary>
    public long Capacity { get; }

    /// <summary>Bytes reserved now.</summary>
    public long InUse
    {
        get
        {
            lock (_lock)
            {
                return _inUse;
            }
        }
    }

    /// <summary>Highest <see cref="InUse"/> seen.</summary>
    public long PeakInUse
    {
        get
        {
            lock (_lock)
            {
                return _peakInUse;
            }
        }
    }

    /// <summary>Requests waiting now.</summary>
    public int WaiterCount
    {
        get
        {
            lock (_lock)
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>Budget use and process memory load, each in [0, 1].</summary>
    /// <returns>A snapshot.</returns>
    public MemoryPressure GetPressure()
    {
        double budget = (double)InUse / Capacity;
        return new MemoryPressure(budget, GcPressure());
    }

    /// <summary>
    /// Memory load reported by the last GC: <see cref="GCMemoryInfo.MemoryLoadBytes"/> divided by
    /// <see cref="GCMemoryInfo.HighMemoryLoadThresholdBytes"/> (the load at which the GC itself turns aggressive),
    /// clamped to [0, 1]; 0 before the first GC.
    /// </summary>
    /// <returns>The GC pressure.</returns>
    public static double GcPressure()
    {
        var info = GC.GetGCMemoryInfo();
        if (info.HighMemoryLoadThresholdBytes <= 0)
        {
            return 0;
        }

        return Math.Clamp((double)info.MemoryLoadBytes / info.HighMemoryLoadThresholdBytes, 0, 1);
    }

    /// <summary>Reserves <paramref name="bytes"/> if they fit now and nobody is waiting.</summary>
    /// <param name="bytes">Bytes to reserve (0..Capacity).</param>
    /// <param name="lease">The lease when granted.</param>
    /// <returns>True when granted.</returns>
    public bool TryReserve(long bytes, [NotNullWhen(true)] out MemoryLease? lease)
    {
        Validate(bytes);
        lock (_lock)
        {
            if (_waiters.Count == 0 && _inUse + bytes <= Capacity)
            {
                lease = GrantLocked(bytes);
                return true;
            }
        }

        lease = null;
        return false;
    }

    /// <summary>
    /// Reserves <paramref name="bytes"/>, waiting first-in-first-out behind earlier requests until they fit.
    /// </summary>
    /// <param name="bytes">Bytes to reserve (0..Capacity).</param>
    /// <param name="cancellationToken">Cancels the wait; a canceled request never holds bytes.</param>
    /// <returns>A lease; dispose it to return the bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is negative or larger than the whole budget (thrown at once).</exception>
    /// <exception cref="OperationCanceledException">The wait was canceled.</exception>
    public ValueTask<MemoryLease> ReserveAsync(long bytes, CancellationToken cancellationToken = default)
    {
        Validate(bytes);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<MemoryLease>(cancellationToken);
        }

        Waiter waiter;
        lock (_lock)
        {
            if (_waiters.Count == 0 && _inUse + bytes <= Capacity)
            {
                return new ValueTask<MemoryLease>(GrantLocked(bytes));
            }

            waiter = new Waiter(this, bytes, _nextTicket++);
            waiter.Node = _waiters.AddLast(waiter);
        }

        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(static (s, ct) => ((Waiter)s!).Budget.Cancel((Waiter)s!, ct), waiter);
            bool alreadyDone;
            lock (_lock)
            {
                alreadyDone = waiter.Done;
                if (!alreadyDone)
                {
                    waiter.Registration = registration;
                }
            }

            if (alreadyDone)
            {
                registration.Unregister(); // granted (or canceled) before we stored it: drop it now
            }
        }

        return new ValueTask<MemoryLease>(waiter.Completion.Task);
    }

    private void Validate(long bytes)
    {
        if (bytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "A reservation must be zero or more bytes.");
        }

        if (bytes > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes,
                $"The request for {bytes} bytes is larger than the whole memory budget of {Capacity} bytes, so it could never be granted. Split the work or create a larger budget.");
        }
    }

    private MemoryLease GrantLocked(long bytes)
    {
        _inUse += bytes;
        if (_inUse > _peakInUse)
        {
            _peakInUse = _inUse;
        }

        return new MemoryLease(this, bytes, _nextTicket++);
    }

    private MemoryLease GrantLocked(Waiter w)
    {
        _inUse += w.Bytes;
        if (_inUse > _peakInUse)
        {
            _peakInUse = _inUse;
        }

        return new MemoryLease(this, w.Bytes, w.Ticket);
    }

    /// <summary>Grants waiters from the head while they fit. Caller holds _lock; completes nothing.</summary>
    private List<(Waiter Waiter, MemoryLease Lease)>? GrantHeadsLocked()
    {
        List<(Waiter, MemoryLease)>? granted = null;
        while (_waiters.First is { } node && _inUse + node.Value.Bytes <= Capacity)
        {
            _waiters.RemoveFirst();
            var w = node.Value;
            w.Done = true;
            (granted ??= new()).Add((w, GrantLocked(w)));
        }

        return granted;
    }

    private static void CompleteGrants(List<(Waiter Waiter, MemoryLease Lease)>? granted)
    {
        if (granted is null)
        {
            return;
        }

        foreach (var (w, lease) in granted)
        {
            // Unregister never blocks; a callback already running finds Done and does nothing.
            w.Registration.Unregister();
            w.Completion.TrySetResult(lease);
        }
    }

    internal void Release(long bytes)
    {
        List<(Waiter, MemoryLease)>? granted;
        lock (_lock)
        {
            _inUse -= bytes;
            granted = GrantHeadsLocked();
        }

        CompleteGrants(granted);
    }

    private void Cancel(Waiter waiter, CancellationToken token)
    {
        List<(Waiter, MemoryLease)>? granted;
        lock (_lock)
        {
            if (waiter.Done)
            {
                return; // already granted: the caller gets the lease and must dispose it
            }

            waiter.Done = true;
            _waiters.Remove(waiter.Node!);
            // The canceled waiter may have been the head blocking smaller requests behind it.
            granted = GrantHeadsLocked();
        }

        waiter.Completion.TrySetCanceled(token);
        CompleteGrants(granted);
    }

    private sealed class Waiter
    {
        public Waiter(MemoryBudget budget, long bytes, long ticket)
        {
            Budget = budget;
            Bytes = bytes;
            Ticket = ticket;
        }

        public long Bytes { get; }

        public long Ticket { get; }

        public MemoryBudget Budget { get; }

        public LinkedListNode<Waiter>? Node { get; set; }

        /// <summary>Guarded by the budget's lock: granted or canceled.</summary>
        public bool Done { get; set; }

        /// <summary>Guarded by the budget's lock.</summary>
        public CancellationTokenRegistration Registration { get; set; }

        public TaskCompletionSource<MemoryLease> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>Bytes held from a <see cref="MemoryBudget"/>; disposing returns them (once; later disposals do nothing).</summary>
public sealed class MemoryLease : IDisposable, IAsyncDisposable
{
    private MemoryBudget? _budget;

    internal MemoryLease(MemoryBudget budget, long bytes, long ticket)
    {
        _budget = budget;
        Bytes = bytes;
        Ticket = ticket;
    }

    /// <summary>Bytes held.</summary>
    public long Bytes { get; }

    /// <summary>Arrival order of the request at the budget (0, 1, 2, ...): leases are granted in this order.</summary>
    public long Ticket { get; }

    /// <summary>True once disposed.</summary>
    public bool IsReleased => Volatile.Read(ref _budget) is null; // pairs with the Exchange in Dispose

    /// <summary>Returns the bytes to the budget.</summary>
    public void Dispose()
    {
        // Exchange: exactly one disposer releases, even when two threads race.
        Interlocked.Exchange(ref _budget, null)?.Release(Bytes);
    }

    /// <summary>Returns the bytes to the budget.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Memory pressure, each part in [0, 1].</summary>
/// <param name="Budget">Budget bytes in use divided by capacity.</param>
/// <param name="Gc">Process memory load from the last GC (see <see cref="MemoryBudget.GcPressure"/>).</param>
public readonly record struct MemoryPressure(double Budget, double Gc)
{
    /// <summary>The larger of the two.</summary>
    public double Combined => Math.Max(Budget, Gc);
}

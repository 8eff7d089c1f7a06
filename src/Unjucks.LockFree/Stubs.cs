// TEMPORARY lock-based stand-ins with the final public API, so that higher layers can build while the
// lock-free implementations are written. Replaced file by file; never ship this.
using System.Diagnostics.CodeAnalysis;

namespace Unjucks.LockFree;

/// <summary>Bounded multi-producer multi-consumer queue (temporary stand-in).</summary>
public sealed class BoundedMpmcQueue<T>
{
    private readonly Queue<T> _q = new();
    /// <summary>Creates the queue.</summary>
    public BoundedMpmcQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 30);
        Capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity);
    }
    /// <summary>Slots.</summary>
    public int Capacity { get; }
    /// <summary>Snapshot count.</summary>
    public int Count { get { lock (_q) { return _q.Count; } } }
    /// <summary>Enqueue unless full.</summary>
    public bool TryEnqueue(T item) { lock (_q) { if (_q.Count >= Capacity) { return false; } _q.Enqueue(item); return true; } }
    /// <summary>Dequeue.</summary>
    public bool TryDequeue([MaybeNullWhen(false)] out T item) { lock (_q) { return _q.TryDequeue(out item); } }
}

/// <summary>Unbounded MPMC queue (temporary stand-in).</summary>
public sealed class MpmcQueue<T>
{
    private readonly Queue<T> _q = new();
    /// <summary>Creates the queue.</summary>
    public MpmcQueue() { }
    /// <summary>Enqueue.</summary>
    public void Enqueue(T item) { lock (_q) { _q.Enqueue(item); } }
    /// <summary>Dequeue.</summary>
    public bool TryDequeue([MaybeNullWhen(false)] out T item) { lock (_q) { return _q.TryDequeue(out item); } }
    /// <summary>Empty snapshot.</summary>
    public bool IsEmpty { get { lock (_q) { return _q.Count == 0; } } }
}

/// <summary>Work-stealing deque (temporary stand-in).</summary>
public sealed class WorkStealingDeque<T>
{
    private readonly LinkedList<T> _l = new();
    /// <summary>Creates the deque.</summary>
    public WorkStealingDeque(int initialCapacity = 32) { ArgumentOutOfRangeException.ThrowIfLessThan(initialCapacity, 1); }
    /// <summary>Owner push.</summary>
    public void Push(T item) { lock (_l) { _l.AddLast(item); } }
    /// <summary>Owner pop, newest first.</summary>
    public bool TryPop([MaybeNullWhen(false)] out T item) { lock (_l) { if (_l.Count == 0) { item = default; return false; } item = _l.Last!.Value; _l.RemoveLast(); return true; } }
    /// <summary>Steal, oldest first.</summary>
    public bool TrySteal([MaybeNullWhen(false)] out T item) { lock (_l) { if (_l.Count == 0) { item = default; return false; } item = _l.First!.Value; _l.RemoveFirst(); return true; } }
    /// <summary>Move up to half into destination.</summary>
    public int StealHalf(WorkStealingDeque<T> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        int n = 0; int want; lock (_l) { want = (_l.Count + 1) / 2; }
        while (n < want && TrySteal(out var x)) { destination.Push(x); n++; }
        return n;
    }
    /// <summary>Snapshot count.</summary>
    public int Count { get { lock (_l) { return _l.Count; } } }
}

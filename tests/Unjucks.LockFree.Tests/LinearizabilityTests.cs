using System.Collections.Immutable;

namespace Unjucks.LockFree.Tests;

/// <summary>
/// Small random concurrent histories (3 or 4 threads x 3 or 4 operations) checked against sequential models
/// with a Wing-Gong search. Capacities are tiny so that full and empty appear in most histories.
/// </summary>
public class LinearizabilityTests
{
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(4)]
    public void BoundedMpmcQueue_IsLinearizable(int capacity)
    {
        HistoryRunner.Run(
            $"BoundedMpmcQueue({capacity})",
            threads: 3,
            opsPerThread: 4,
            random =>
            {
                var q = new BoundedMpmcQueue<long>(capacity, random.Next(3) == 0 ? uint.MaxValue - 2L : 0);
                var initial = ImmutableList<long>.Empty;
                for (int i = random.Next(capacity + 1); i > 0; i--)
                {
                    long v = 900 + i;
                    q.TryEnqueue(v);
                    initial = initial.Add(v);
                }

                return (q, initial);
            },
            (thread, random) => random.Next(2) == 0 ? ("TryEnqueue", NextValue(thread, random)) : ("TryDequeue", 0),
            (q, name, arg) => name == "TryEnqueue" ? (q.TryEnqueue(arg), 0) : (q.TryDequeue(out long v), v),
            (ImmutableList<long> s, HistoryOp op, out ImmutableList<long> next) => QueueModel(s, op, capacity, out next));
    }

    [TestCase(1)]
    [TestCase(2)]
    public void MpmcQueue_IsLinearizable(int segmentSize)
    {
        HistoryRunner.Run(
            $"MpmcQueue(segments of {segmentSize})",
            threads: 3,
            opsPerThread: 4,
            random =>
            {
                var q = new MpmcQueue<long>(segmentSize);
                var initial = ImmutableList<long>.Empty;
                for (int i = random.Next(3); i > 0; i--)
                {
                    q.Enqueue(900 + i);
                    initial = initial.Add(900 + i);
                }

                return (q, initial);
            },
            (thread, random) => random.Next(2) == 0 ? ("Enqueue", NextValue(thread, random)) : ("TryDequeue", 0),
            (q, name, arg) =>
            {
                if (name == "Enqueue")
                {
                    q.Enqueue(arg);
                    return (true, 0);
                }

                return (q.TryDequeue(out long v), v);
            },
            (ImmutableList<long> s, HistoryOp op, out ImmutableList<long> next) => QueueModel(s, op, int.MaxValue, out next));
    }

    [TestCase(1, 3)]
    [TestCase(2, 4)]
    public void WorkStealingDeque_IsLinearizable(int initialCapacity, int threads)
    {
        // Thread 0 is the owner (Push, TryPop); the others only steal.
        HistoryRunner.Run(
            $"WorkStealingDeque({initialCapacity}) with {threads - 1} thieves",
            threads,
            opsPerThread: 4,
            random =>
            {
                var d = new WorkStealingDeque<long>(initialCapacity, random.Next(3) == 0 ? int.MaxValue - 1L : 0);
                var initial = ImmutableList<long>.Empty;
                for (int i = random.Next(3); i > 0; i--)
                {
                    d.Push(900 + i);
                    initial = initial.Add(900 + i);
                }

                return (d, initial);
            },
            (thread, random) => thread != 0 ? ("TrySteal", 0) : random.Next(2) == 0 ? ("Push", NextValue(thread, random)) : ("TryPop", 0),
            (d, name, arg) =>
            {
                switch (name)
                {
                    case "Push":
                        d.Push(arg);
                        return (true, 0);
                    case "TryPop":
                        return (d.TryPop(out long p), p);
                    default:
                        return (d.TrySteal(out long s), s);
                }
            },
            DequeModel);
    }

    private static long NextValue(int thread, Random random) => ((thread + 1) * 100) + random.Next(1, 100);

    private static bool QueueModel(ImmutableList<long> s, HistoryOp op, int capacity, out ImmutableList<long> next)
    {
        next = s;
        if (op.Name is "TryEnqueue" or "Enqueue")
        {
            bool fits = s.Count < capacity;
            if (fits)
            {
                next = s.Add(op.Arg);
            }

            return op.Ok == fits;
        }

        if (s.IsEmpty)
        {
            return !op.Ok;
        }

        next = s.RemoveAt(0);
        return op.Ok && op.Value == s[0];
    }

    private static bool DequeModel(ImmutableList<long> s, HistoryOp op, out ImmutableList<long> next)
    {
        next = s;
        switch (op.Name)
        {
            case "Push":
                next = s.Add(op.Arg);
                return op.Ok;
            case "TryPop":
                if (s.IsEmpty)
                {
                    return !op.Ok;
                }

                next = s.RemoveAt(s.Count - 1);
                return op.Ok && op.Value == s[^1];
            default:
                if (s.IsEmpty)
                {
                    return !op.Ok;
                }

                next = s.RemoveAt(0);
                return op.Ok && op.Value == s[0];
        }
    }
}

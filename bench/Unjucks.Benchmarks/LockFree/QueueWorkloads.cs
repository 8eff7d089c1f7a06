// The measured loops, generic over a struct adapter so that each queue gets its own specialised code.
// Failure paths (a bounded queue momentarily full, a queue momentarily empty because a preempted thread
// holds a claimed slot) are out of line and back off with SpinWait: Yield/Sleep(0) after a few spins,
// never Sleep(1), so that oversubscribed workers hand the core to the thread they wait for.
using System.Runtime.CompilerServices;

namespace Unjucks.Benchmarks.LockFree;

/// <summary>Per-thread loops of the queue benchmarks.</summary>
public static class QueueWorkloads
{
    /// <summary>Marks the end of a producer/consumer round; real items are never negative.</summary>
    public const long EndOfRound = -1;

    /// <summary>
    /// <paramref name="pairs"/> times: enqueue one item, dequeue one item. Returns the sum of the items
    /// dequeued (the caller checks it: across all threads it must equal the sum enqueued).
    /// Every dequeue succeeds in a linearizable queue (this thread's own enqueue precedes it), so an empty
    /// result is only ever transient and is retried.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long Pairs<TQueue>(TQueue queue, int pairs)
        where TQueue : struct, IQueueAdapter
    {
        long sum = 0;
        for (int i = 0; i < pairs; i++)
        {
            if (!queue.TryEnqueue(i))
            {
                EnqueueSlow(queue, i);
            }

            if (!queue.TryDequeue(out long item))
            {
                item = DequeueSlow(queue);
            }

            sum += item;
        }

        return sum;
    }

    /// <summary>Enqueues <paramref name="count"/> items first + 0 .. first + count - 1, retrying while full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Produce<TQueue>(TQueue queue, long first, int count)
        where TQueue : struct, IQueueAdapter
    {
        long end = first + count;
        for (long i = first; i < end; i++)
        {
            if (!queue.TryEnqueue(i))
            {
                EnqueueSlow(queue, i);
            }
        }
    }

    /// <summary>Enqueues one item, retrying while full.</summary>
    public static void Enqueue<TQueue>(TQueue queue, long item)
        where TQueue : struct, IQueueAdapter
    {
        if (!queue.TryEnqueue(item))
        {
            EnqueueSlow(queue, item);
        }
    }

    /// <summary>
    /// Dequeues until it receives <see cref="EndOfRound"/>; returns how many real items it got and their sum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (long Count, long Sum) Consume<TQueue>(TQueue queue)
        where TQueue : struct, IQueueAdapter
    {
        long count = 0;
        long sum = 0;
        while (true)
        {
            if (!queue.TryDequeue(out long item))
            {
                item = DequeueSlow(queue);
            }

            if (item == EndOfRound)
            {
                return (count, sum);
            }

            count++;
            sum += item;
        }
    }

    /// <summary>Retries an enqueue until it succeeds (a bounded queue was full).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void EnqueueSlow<TQueue>(TQueue queue, long item)
        where TQueue : struct, IQueueAdapter
    {
        var spinner = new SpinWait();
        while (!queue.TryEnqueue(item))
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>Retries a dequeue until it succeeds (the queue was empty).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static long DequeueSlow<TQueue>(TQueue queue)
        where TQueue : struct, IQueueAdapter
    {
        var spinner = new SpinWait();
        long item;
        while (!queue.TryDequeue(out item))
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }

        return item;
    }
}

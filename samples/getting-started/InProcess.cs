using Unjucks.Agents;
using Unjucks.LockFree;

namespace Unjucks.Samples.GettingStarted;

internal static class InProcess
{
    internal static string QueuesAndScheduler()
    {
        // [queues] An unbounded multi-producer multi-consumer queue, used like ConcurrentQueue<T>.
        var queue = new MpmcQueue<int>();
        Parallel.For(0, 4, p =>
        {
            for (int i = 0; i < 1000; i++)
            {
                queue.Enqueue(p * 1000 + i);
            }
        });
        long sum = 0;
        while (queue.TryDequeue(out int item))
        {
            sum += item;
        }

        // A bounded ring: TryEnqueue fails when it is full instead of growing.
        var ring = new BoundedMpmcQueue<string>(capacity: 1024);
        bool added = ring.TryEnqueue("job");

        // Chase-Lev deque: its owner pushes and pops at one end, other threads steal from the other.
        var deque = new WorkStealingDeque<int>();
        deque.Push(1);
        deque.Push(2);
        bool stolen = deque.TrySteal(out int oldest);   // 1 (another thread would do this)
        bool popped = deque.TryPop(out int newest);     // 2
        // [/queues]

        // [scheduler] A work-stealing scheduler with a fixed set of worker threads, as a TaskScheduler.
        using var scheduler = new WorkStealingScheduler(workerCount: Environment.ProcessorCount);
        var factory = new TaskFactory(scheduler.TaskScheduler);
        Task<long>[] parts = [.. Enumerable.Range(0, 16).Select(part => factory.StartNew(() =>
        {
            long partial = 0;
            for (int i = part * 1000; i < (part + 1) * 1000; i++)
            {
                partial += i;
            }

            return partial;
        }))];
        long total = Task.WhenAll(parts).Result.Sum();   // 0 + 1 + ... + 15999
        // [/scheduler]

        return $"in-process: queue sum {sum}, ring {added}, deque {oldest}/{newest} ({stolen && popped}), scheduler total {total}";
    }
}

using System.Buffers.Binary;
using System.Diagnostics;

namespace Unjucks.SharedMemory.Tests;

/// <summary>
/// The async waits (DequeueAsync, EnqueueAsync, ReadAllAsync, WaitForChangeAsync) and Complete: parked calls hold
/// no thread, wake across processes, honour cancellation and dispose, and lose no message. Nothing asserts time;
/// the HangGuard only turns a hang into a failure.
/// </summary>
public class AsyncWaitTests : RegionTestBase
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private static byte[] Message(int producer, int index)
    {
        byte[] message = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(message, producer);
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(4), index);
        return message;
    }

    private static int ThreadCount()
    {
        using Process self = Process.GetCurrentProcess();
        return self.Threads.Count;
    }

    private static void WaitUntil(Func<bool> condition, string what) =>
        Assert.That(SpinWait.SpinUntil(condition, HangGuard), Is.True, $"hang guard: {what}");

    [Test]
    public async Task Two_hundred_parked_dequeues_hold_no_thread_each_and_each_gets_one_message()
    {
        SharedRegion region = Region();
        SharedMessageQueue queue = region.Queue("q");
        const int waiters = 200;
        int before = ThreadCount();

        var buffers = new byte[waiters][];
        var pending = new ValueTask<int>[waiters];
        for (int i = 0; i < waiters; i++)
        {
            buffers[i] = new byte[queue.MaxMessageBytes];
            pending[i] = queue.DequeueAsync(buffers[i], HangGuard);
        }

        // Every call parked (the count dips while the waiter thread's 100 ms poll lets them retry; it comes back).
        WaitUntil(() => queue.NotEmptyWaitersForTests == waiters, $"{waiters} parked consumers, saw {queue.NotEmptyWaitersForTests}");
        int during = ThreadCount();
        Assert.That(region.HasWaiterThread, Is.True);
        Assert.That(during - before, Is.LessThanOrEqualTo(6),
            $"threads before {before}, with {waiters} parked calls {during}: parked calls must not hold threads");

        for (int i = 0; i < waiters; i++)
        {
            await queue.EnqueueAsync(Message(1, i), HangGuard);
        }

        var seen = new HashSet<int>();
        for (int i = 0; i < waiters; i++)
        {
            int length = await pending[i];
            Assert.That(length, Is.EqualTo(8));
            Assert.That(seen.Add(BinaryPrimitives.ReadInt32LittleEndian(buffers[i].AsSpan(4))), Is.True, "a message delivered twice");
        }

        Assert.That(seen, Has.Count.EqualTo(waiters));
        Assert.That(queue.Count, Is.Zero);
        Assert.That(queue.NotEmptyWaitersForTests, Is.Zero, "every parked call gave its waiter count back");
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task A_child_process_enqueue_wakes_a_parked_DequeueAsync_with_the_exact_bytes(bool futexWaitv)
    {
        bool saved = SharedRegion.UseFutexWaitv;
        if (futexWaitv && !saved)
        {
            Assert.Ignore("this kernel has no futex_waitv (Linux < 5.16)");
        }

        SharedRegion.UseFutexWaitv = futexWaitv; // read when the region starts its waiter thread
        try
        {
            SharedRegion region = Region();
            SharedMessageQueue queue = region.Queue("q");
            byte[] buffer = new byte[queue.MaxMessageBytes];
            ValueTask<int> pending = queue.DequeueAsync(buffer, HangGuard);
            WaitUntil(() => queue.NotEmptyWaitersForTests == 1, "the consumer parked");
            Assert.That(pending.IsCompleted, Is.False);

            AgentProcess child = StartAgent(region, "produce", "q", "7", "1");
            Assert.That(child.WaitForSuccess().Trim(), Is.EqualTo("done"));

            int length = await pending;
            Assert.That(buffer.AsSpan(0, length).ToArray(), Is.EqualTo(Message(7, 0)));
            Assert.That(queue.Count, Is.Zero);
        }
        finally
        {
            SharedRegion.UseFutexWaitv = saved;
        }
    }

    [Test]
    public async Task A_cancelled_DequeueAsync_ends_canceled_and_the_next_message_goes_to_the_next_call()
    {
        SharedRegion region = Region();
        SharedMessageQueue queue = region.Queue("q");
        using var cancel = new CancellationTokenSource();
        byte[] buffer = new byte[queue.MaxMessageBytes];
        ValueTask<int> pending = queue.DequeueAsync(buffer, cancel.Token);
        WaitUntil(() => queue.NotEmptyWaitersForTests == 1, "the consumer parked");

        cancel.Cancel();
        OperationCanceledException? error = await Assert.CatchAsync<OperationCanceledException>(async () => await pending);
        Assert.That(error!.CancellationToken, Is.EqualTo(cancel.Token));
        Assert.That(queue.NotEmptyWaitersForTests, Is.Zero, "the cancelled call gave its waiter count back");

        await queue.EnqueueAsync(Message(2, 42));
        Assert.That(queue.Count, Is.EqualTo(1), "the cancelled call took nothing");
        int length = await queue.DequeueAsync(buffer, HangGuard);
        Assert.That(buffer.AsSpan(0, length).ToArray(), Is.EqualTo(Message(2, 42)));
    }

    [Test, Repeat(3)]
    public async Task Cancellations_racing_enqueues_lose_and_duplicate_no_message()
    {
        SharedRegion region = Region();
        SharedMessageQueue queue = region.Queue("q");
        queue.SpinIterations = 0; // park at once: the race is between the wake, the retry and the cancellation
        const int rounds = 300;
        var received = new List<int>();
        int cancelled = 0;
        var random = new Random(TestContext.CurrentContext.Random.Next());
        byte[] buffer = new byte[queue.MaxMessageBytes];
        for (int i = 0; i < rounds; i++)
        {
            using var cancel = new CancellationTokenSource();
            ValueTask<int> pending = queue.DequeueAsync(buffer, cancel.Token);
            int order = random.Next(3);
            Task producer = Task.Run(async () => await queue.EnqueueAsync(Message(3, i), HangGuard));
            if (order == 0)
            {
                cancel.Cancel();
            }
            else if (order == 1)
            {
                _ = Task.Run(cancel.Cancel);
            }

            try
            {
                int length = await pending;
                received.Add(BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(4, length - 4)));
            }
            catch (OperationCanceledException)
            {
                cancelled++;
            }

            await producer;
        }

        // What the cancelled calls left behind is still queued, in order.
        while (queue.TryDequeue(buffer, out int length))
        {
            received.Add(BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(4, length - 4)));
        }

        Assert.That(received, Is.EquivalentTo(Enumerable.Range(0, rounds)), $"{cancelled} of {rounds} calls were cancelled");
        Assert.That(queue.NotEmptyWaitersForTests, Is.Zero);
    }

    [Test, Repeat(3)]
    public async Task Complete_from_a_child_process_ends_ReadAllAsync_after_every_message()
    {
        SharedRegion region = Region(); // QueueCapacity 16: the child blocks on a full queue while we read
        SharedMessageQueue queue = region.Queue("q");
        const int count = 500;
        AgentProcess child = StartAgent(region, "produce-complete", "q", "5", count.ToString());
        using var guard = new CancellationTokenSource(HangGuard);
        var indexes = new List<int>();
        await foreach (ReadOnlyMemory<byte> item in queue.ReadAllAsync(guard.Token))
        {
            Assert.That(item.Length, Is.EqualTo(8));
            Assert.That(BinaryPrimitives.ReadInt32LittleEndian(item.Span), Is.EqualTo(5));
            indexes.Add(BinaryPrimitives.ReadInt32LittleEndian(item.Span[4..]));
        }

        Assert.That(child.WaitForSuccess().Trim(), Is.EqualTo("completed\ndone").Or.EqualTo("completed" + Environment.NewLine + "done"));
        Assert.That(indexes, Is.EqualTo(Enumerable.Range(0, count)), "one producer, one consumer: every message once, in order");

        // The end is typed on every side.
        Assert.That(queue.Complete(), Is.False, "already completed by the child");
        await Assert.ThrowsAsync<SharedQueueCompletedException>(async () => await queue.DequeueAsync(new byte[16]));
        await Assert.ThrowsAsync<SharedQueueCompletedException>(async () => await queue.EnqueueAsync(Message(0, 0)));
        Assert.Throws<SharedQueueCompletedException>(() => queue.Enqueue(Message(0, 0), HangGuard));
        Assert.Throws<SharedQueueCompletedException>(() => queue.Dequeue(new byte[16], out _, HangGuard));
        Assert.That(queue.TryDequeue(new byte[16], out _), Is.False);
    }

    [Test]
    public async Task Complete_wakes_parked_consumers_and_producers_with_the_typed_end()
    {
        SharedRegion region = Region();
        SharedMessageQueue full = region.Queue("full");
        SharedMessageQueue empty = region.Queue("empty");
        while (full.TryEnqueue(Message(0, 0)))
        {
        }

        ValueTask<int> consumer = empty.DequeueAsync(new byte[16], HangGuard);
        ValueTask producer = full.EnqueueAsync(Message(0, 1), HangGuard);
        WaitUntil(() => empty.NotEmptyWaitersForTests == 1 && full.NotFullWaitersForTests == 1, "both parked");

        Assert.That(empty.Complete(), Is.True);
        Assert.That(full.Complete(), Is.True);
        await Assert.CatchAsync<SharedQueueCompletedException>(async () => await consumer);
        await Assert.CatchAsync<SharedQueueCompletedException>(async () => await producer);

        // A completed queue still hands out what it holds, then ends.
        int drained = 0;
        await foreach (ReadOnlyMemory<byte> _ in full.ReadAllAsync())
        {
            drained++;
        }

        Assert.That(drained, Is.EqualTo(full.Capacity));
    }

    [Test]
    public async Task Dispose_fails_every_pending_async_wait_with_ObjectDisposedException()
    {
        SharedRegion region = Region(); // TearDown's second Dispose is a no-op
        SharedMessageQueue empty = region.Queue("empty");
        SharedMessageQueue full = region.Queue("full");
        while (full.TryEnqueue(Message(0, 0)))
        {
        }

        ValueTask<int> consumer = empty.DequeueAsync(new byte[16]);
        ValueTask producer = full.EnqueueAsync(Message(0, 1));
        ValueTask<bool> change = region.WaitForChangeAsync(region.ChangeSequence, Timeout.InfiniteTimeSpan);
        WaitUntil(() => empty.NotEmptyWaitersForTests == 1 && full.NotFullWaitersForTests == 1, "both queue calls parked");
        Assert.That(change.IsCompleted, Is.False);

        region.Dispose();
        await Assert.CatchAsync<ObjectDisposedException>(async () => await consumer);
        await Assert.CatchAsync<ObjectDisposedException>(async () => await producer);
        await Assert.CatchAsync<ObjectDisposedException>(async () => await change);
        await Assert.CatchAsync<ObjectDisposedException>(async () => await empty.DequeueAsync(new byte[16]));
        await Assert.CatchAsync<ObjectDisposedException>(async () => await region.WaitForChangeAsync(0, TimeSpan.Zero));
    }

    [Test]
    public async Task WaitForChangeAsync_wakes_on_a_change_from_a_child_process()
    {
        SharedRegion region = Region();
        long seen = region.ChangeSequence;
        ValueTask<bool> waiting = region.WaitForChangeAsync(seen, HangGuard);
        Assert.That(waiting.IsCompleted, Is.False);

        AgentProcess child = StartAgent(region, "increment", "counter", "1");
        Assert.That(child.WaitForSuccess().Trim(), Is.EqualTo("done"));

        Assert.That(await waiting, Is.True);
        Assert.That(region.ChangeSequence, Is.Not.EqualTo(seen));
        Assert.That(await region.WaitForChangeAsync(seen, HangGuard), Is.True, "already changed: completes at once");
    }

    [Test]
    public async Task WaitForChangeAsync_honours_cancellation_and_its_timeout()
    {
        SharedRegion region = Region();
        using var cancel = new CancellationTokenSource();
        ValueTask<bool> waiting = region.WaitForChangeAsync(region.ChangeSequence, Timeout.InfiniteTimeSpan, cancel.Token);
        cancel.Cancel();
        OperationCanceledException? error = await Assert.CatchAsync<OperationCanceledException>(async () => await waiting);
        Assert.That(error!.CancellationToken, Is.EqualTo(cancel.Token));

        Assert.That(await region.WaitForChangeAsync(region.ChangeSequence, TimeSpan.FromMilliseconds(20)), Is.False, "no change: times out");
        await Assert.CatchAsync<ArgumentOutOfRangeException>(async () => await region.WaitForChangeAsync(0, TimeSpan.FromSeconds(-2)));

        // A timeout past what a timer holds (about 49 days) waits like an infinite one: cancellation still ends it.
        using var later = new CancellationTokenSource();
        ValueTask<bool> yearLong = region.WaitForChangeAsync(region.ChangeSequence, TimeSpan.FromDays(365), later.Token);
        later.Cancel();
        await Assert.CatchAsync<OperationCanceledException>(async () => await yearLong);
    }

    [Test]
    public async Task Queue_time_out_overloads_throw_TimeoutException_and_take_nothing()
    {
        SharedRegion region = Region();
        SharedMessageQueue queue = region.Queue("q");
        await Assert.ThrowsAsync<TimeoutException>(async () => await queue.DequeueAsync(new byte[16], TimeSpan.FromMilliseconds(20)));
        Assert.That(queue.NotEmptyWaitersForTests, Is.Zero);
        while (queue.TryEnqueue(Message(0, 0)))
        {
        }

        await Assert.ThrowsAsync<TimeoutException>(async () => await queue.EnqueueAsync(Message(0, 1), TimeSpan.FromMilliseconds(20)));
        Assert.That(queue.Count, Is.EqualTo(queue.Capacity));
        Assert.That(queue.NotFullWaitersForTests, Is.Zero);
    }
}

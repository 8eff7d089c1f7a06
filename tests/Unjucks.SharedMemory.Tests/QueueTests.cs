using System.Buffers.Binary;
using System.Collections.Concurrent;

namespace Unjucks.SharedMemory.Tests;

public class QueueTests : RegionTestBase
{
    [Test]
    public void Fifo_full_empty_and_wrap_around()
    {
        SharedRegion region = Region(options: Options with { QueueCapacity = 4 });
        SharedMessageQueue queue = region.Queue("q");
        Assert.That(queue.Capacity, Is.EqualTo(4));
        var buffer = new byte[16];
        int next = 0;
        int expected = 0;
        for (int round = 0; round < 10; round++)
        {
            while (queue.TryEnqueue(BitConverter.GetBytes(next)))
            {
                next++;
            }

            Assert.That(queue.Count, Is.EqualTo(4), $"round {round}: full at 4");
            while (queue.TryDequeue(buffer, out int length))
            {
                Assert.That(length, Is.EqualTo(4));
                Assert.That(BitConverter.ToInt32(buffer), Is.EqualTo(expected++));
            }

            Assert.That(queue.Count, Is.Zero);
        }

        Assert.That((next, expected), Is.EqualTo((40, 40)));
    }

    [Test]
    public void Queues_are_named_and_shared_between_region_instances()
    {
        string name = NewName();
        SharedRegion a = Region(name);
        SharedRegion b = Region(name);
        Assert.That(a.Queue("x").TryEnqueue([1]), Is.True);
        Assert.That(a.Queue("y").TryEnqueue([2, 2]), Is.True);
        var buffer = new byte[16];
        Assert.That(b.Queue("y").TryDequeue(buffer, out int length), Is.True);
        Assert.That((length, buffer[0]), Is.EqualTo((2, (byte)2)));
        Assert.That(b.Queue("x").TryDequeue(buffer, out length), Is.True);
        Assert.That((length, buffer[0]), Is.EqualTo((1, (byte)1)));
        Assert.That(b.Queue("x").TryDequeue(buffer, out _), Is.False);
        SharedMessageQueue cached = a.Queue("x");
        Assert.That(a.Queue("x"), Is.SameAs(cached));
    }

    [Test]
    public void Too_many_queues_throws_SharedRegionFullException()
    {
        SharedRegion region = Region();
        for (int i = 0; i < 4; i++)
        {
            region.Queue("q" + i);
        }

        var error = Assert.Throws<SharedRegionFullException>(() => region.Queue("q4"))!;
        Assert.That(error.Message, Does.Contain("MaxQueues"));
        Assert.That(region.Queue("q3").TryEnqueue([1]), Is.True);
    }

    [Test]
    public void Blocking_calls_time_out_and_cancel()
    {
        SharedMessageQueue queue = Region(options: Options with { QueueCapacity = 2 }).Queue("q");
        var buffer = new byte[16];
        Assert.That(queue.Dequeue(buffer, out _, TimeSpan.FromMilliseconds(30)), Is.False);
        Assert.That(queue.Enqueue([1], TimeSpan.Zero), Is.True);
        Assert.That(queue.Enqueue([2], TimeSpan.Zero), Is.True);
        Assert.That(queue.Enqueue([3], TimeSpan.FromMilliseconds(30)), Is.False);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Assert.Throws<OperationCanceledException>(() => queue.Enqueue([3], TimeSpan.FromSeconds(30), cancel.Token));
        Assert.Throws<ArgumentOutOfRangeException>(() => queue.Enqueue([3], TimeSpan.FromSeconds(-2)));
        Assert.That(queue.Count, Is.EqualTo(2));
    }

    [Test]
    public void Parked_consumer_is_woken_by_a_producer()
    {
        SharedMessageQueue queue = Region().Queue("q");
        queue.SpinIterations = 0;
        Task<int> consumer = Task.Run(() =>
        {
            var buffer = new byte[16];
            Assert.That(queue.Dequeue(buffer, out int length, TimeSpan.FromSeconds(30)), Is.True);
            return buffer[0] + length;
        });
        Thread.Sleep(50);
        Assert.That(queue.TryEnqueue([41]), Is.True);
        Assert.That(consumer.Wait(TimeSpan.FromSeconds(30)), Is.True, "hang guard");
        Assert.That(consumer.Result, Is.EqualTo(42));
    }

    [Test, Repeat(5)]
    public void Threads_mpmc_deliver_every_message_exactly_once()
    {
        SharedMessageQueue queue = Region(options: Options with { QueueCapacity = 8 }).Queue("q");
        queue.SpinIterations = 4;
        const int producers = 3;
        const int consumers = 3;
        const int perProducer = 3000;
        var seen = new ConcurrentDictionary<long, int>();
        int received = 0;
        Task[] tasks =
        [
            .. Enumerable.Range(0, producers).Select(p => Task.Run(() =>
            {
                var message = new byte[8];
                for (int i = 0; i < perProducer; i++)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(message, p);
                    BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(4), i);
                    Assert.That(queue.Enqueue(message, TimeSpan.FromSeconds(60)), Is.True);
                }
            })),
            .. Enumerable.Range(0, consumers).Select(_ => Task.Run(() =>
            {
                var buffer = new byte[16];
                while (Volatile.Read(ref received) < producers * perProducer)
                {
                    if (queue.Dequeue(buffer, out int length, TimeSpan.FromMilliseconds(20)))
                    {
                        Assert.That(length, Is.EqualTo(8));
                        seen.AddOrUpdate(BitConverter.ToInt64(buffer), 1, (_, n) => n + 1);
                        Interlocked.Increment(ref received);
                    }
                }
            })),
        ];
        Assert.That(Task.WaitAll(tasks, TimeSpan.FromSeconds(120)), Is.True, "hang guard");
        Assert.That(received, Is.EqualTo(producers * perProducer));
        Assert.That(seen, Has.Count.EqualTo(producers * perProducer));
        Assert.That(seen.Values.Where(n => n != 1), Is.Empty, "duplicates");
    }
}

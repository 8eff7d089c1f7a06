using Unjucks.SharedMemory.Jobs;

namespace Unjucks.SharedMemory.Tests.Jobs;

[TestFixture]
public unsafe class SharedTaskInboxTests
{
    [Test]
    public void Fifo_full_and_drain_dead()
    {
        using var block = new NativeBlock(TaskInboxLayout.SizeOf(4));
        TaskInboxLayout.Initialize(block.Pointer, 4);
        var inbox = new SharedTaskInbox(block.Pointer);
        for (long i = 0; i < 4; i++)
        {
            Assert.That(inbox.TryEnqueue(i), Is.True);
        }

        Assert.That(inbox.TryEnqueue(9), Is.False, "full at 4 of 4");
        Assert.That(inbox.TryDequeue(out long first), Is.True);
        Assert.That(first, Is.EqualTo(0));
        Assert.That(inbox.TryEnqueue(4), Is.True, "a freed slot is reused (wrap)");
        var rest = new List<long>();
        Assert.That(inbox.DrainDead(rest), Is.EqualTo(4));
        Assert.That(rest, Is.EqualTo(new long[] { 1, 2, 3, 4 }));
        Assert.That(inbox.Count, Is.EqualTo(0));
    }

    [TestCase(long.MaxValue, 0L, TestName = "inbox tail far past head")]
    [TestCase(3L, 7L, TestName = "inbox head past tail")]
    public void A_damaged_head_or_tail_is_a_format_error_not_an_endless_drain(long tail, long head)
    {
        using var block = new NativeBlock(TaskInboxLayout.SizeOf(4));
        TaskInboxLayout.Initialize(block.Pointer, 4);
        var inbox = new SharedTaskInbox(block.Pointer);
        Volatile.Write(ref *(long*)(block.Pointer + TaskInboxLayout.TailOffset), tail);
        Volatile.Write(ref *(long*)(block.Pointer + TaskInboxLayout.HeadOffset), head);

        var dequeue = Assert.Throws<SharedRegionFormatException>(() => inbox.TryDequeue(out _));
        Assert.Throws<SharedRegionFormatException>(() => inbox.TryEnqueue(1));
        Assert.Throws<SharedRegionFormatException>(() => inbox.DrainDead(new List<long>()));

        Assert.That(dequeue!.Message, Does.Contain($"head {head}, tail {tail}").And.Contain("damaged"));
    }

    [Test]
    [Repeat(5)]
    public void Producer_and_consumer_threads_pass_every_id_once_in_order()
    {
        const int items = 50_000;
        using var block = new NativeBlock(TaskInboxLayout.SizeOf(8));
        TaskInboxLayout.Initialize(block.Pointer, 8);
        var producerSide = new SharedTaskInbox(block.Pointer);
        var consumerSide = new SharedTaskInbox(block.Pointer);
        long expected = 0;
        string? error = null;
        var consumer = new Thread(() =>
        {
            var deadline = DateTime.UtcNow.AddSeconds(60); // hang guard.
            while (expected < items && DateTime.UtcNow < deadline)
            {
                if (consumerSide.TryDequeue(out long id))
                {
                    if (id != expected)
                    {
                        error = $"got {id}, expected {expected}";
                        return;
                    }

                    expected++;
                }
                else
                {
                    Thread.Yield();
                }
            }
        });
        consumer.Start();
        for (long i = 0; i < items; i++)
        {
            while (!producerSide.TryEnqueue(i))
            {
                Thread.Yield();
            }
        }

        Assert.That(consumer.Join(TimeSpan.FromSeconds(60)), Is.True);
        Assert.That(error, Is.Null);
        Assert.That(expected, Is.EqualTo(items));
    }
}

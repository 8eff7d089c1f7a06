namespace Unjucks.LockFree.Tests;

/// <summary>Single-thread semantics of MpmcQueue, including many segment transitions.</summary>
public class MpmcQueueTests
{
    [Test]
    public void Empty_DequeueFails_AndIsEmpty()
    {
        var q = new MpmcQueue<string>();
        Assert.That(q.IsEmpty, Is.True);
        Assert.That(q.TryDequeue(out string? item), Is.False);
        Assert.That(item, Is.Null);
        Assert.That(q.IsEmpty, Is.True, "a failed dequeue made the queue look non-empty");
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(1024)]
    public void ManyItems_AreFifo_AcrossSegments(int segmentSize)
    {
        var q = new MpmcQueue<int>(segmentSize);
        const int n = 5000;
        for (int i = 0; i < n; i++)
        {
            q.Enqueue(i);
            Assert.That(q.IsEmpty, Is.False);
        }

        for (int i = 0; i < n; i++)
        {
            Assert.That(q.TryDequeue(out int item), Is.True, $"dequeue {i} of {n} failed");
            Assert.That(item, Is.EqualTo(i), "FIFO order broken");
        }

        Assert.That(q.TryDequeue(out _), Is.False);
        Assert.That(q.IsEmpty, Is.True);
        Assert.That(q.RingCount, Is.EqualTo(1), "drained segments are still linked from the head");
    }

    [Test]
    public void InterleavedEnqueueAndDequeue_KeepOrder_WithSegmentSize2()
    {
        var q = new MpmcQueue<long>(2);
        var random = new Random(7);
        long next = 0;
        long expected = 0;
        for (int round = 0; round < 5000; round++)
        {
            int inCount = random.Next(0, 5);
            for (int i = 0; i < inCount; i++)
            {
                q.Enqueue(next++);
            }

            int outCount = random.Next(0, 5);
            for (int i = 0; i < outCount; i++)
            {
                bool shouldHave = expected < next;
                Assert.That(q.TryDequeue(out long item), Is.EqualTo(shouldHave), $"round {round}: {next - expected} inside");
                if (shouldHave)
                {
                    Assert.That(item, Is.EqualTo(expected), $"round {round}: FIFO order broken");
                    expected++;
                }
            }

            Assert.That(q.IsEmpty, Is.EqualTo(expected == next), $"round {round}: IsEmpty with {next - expected} inside");
            Assert.That(q.Count, Is.EqualTo(next - expected), $"round {round}: Count");
        }
    }

    [Test]
    public void InternalSegmentSize_MustBePositive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new MpmcQueue<int>(0));
    }

    [Test]
    public void DequeuedItems_AreNotKeptAlive()
    {
        var q = new MpmcQueue<object>();
        WeakReference weak = EnqueueAndDequeue(q);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.That(weak.IsAlive, Is.False, "the queue kept a dequeued item alive");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference EnqueueAndDequeue(MpmcQueue<object> q)
    {
        var item = new object();
        q.Enqueue(item);
        q.TryDequeue(out _);
        return new WeakReference(item);
    }
}

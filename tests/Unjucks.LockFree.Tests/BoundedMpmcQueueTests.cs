namespace Unjucks.LockFree.Tests;

/// <summary>Single-thread semantics and argument validation of BoundedMpmcQueue.</summary>
public class BoundedMpmcQueueTests
{
    /// <summary>Start positions that put the counters across 2^31, 2^32 and the wrap of a long.</summary>
    public static readonly long[] StartPositions = [0, int.MaxValue - 5L, uint.MaxValue - 5L, long.MaxValue - 5, -5];

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(int.MinValue)]
    [TestCase((1 << 30) + 1)]
    [TestCase(int.MaxValue)]
    public void Constructor_RejectsCapacityOutside1To2Pow30(int capacity)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new BoundedMpmcQueue<int>(capacity));
        Assert.That(e!.ParamName, Is.EqualTo("capacity"));
        Assert.That(e.Message, Does.Contain("2^30"));
    }

    [TestCase(1, 1)]
    [TestCase(2, 2)]
    [TestCase(3, 4)]
    [TestCase(5, 8)]
    [TestCase(1000, 1024)]
    [TestCase(1 << 20, 1 << 20)]
    public void Capacity_IsRoundedUpToAPowerOfTwo(int requested, int expected)
    {
        Assert.That(new BoundedMpmcQueue<int>(requested).Capacity, Is.EqualTo(expected));
    }

    [TestCaseSource(nameof(StartPositions))]
    public void FillThenDrain_IsFifo_AndReportsFullAndEmpty(long start)
    {
        var q = new BoundedMpmcQueue<string>(8, start);
        Assert.That(q.IsEmpty, Is.True);
        Assert.That(q.TryDequeue(out _), Is.False, "empty queue dequeued something");
        for (int i = 0; i < 8; i++)
        {
            Assert.That(q.TryEnqueue($"item {i}"), Is.True, $"enqueue {i} of 8 failed");
            Assert.That(q.Count, Is.EqualTo(i + 1));
        }

        Assert.That(q.TryEnqueue("one too many"), Is.False, "a full queue accepted an item");
        Assert.That(q.Count, Is.EqualTo(8));
        for (int i = 0; i < 8; i++)
        {
            Assert.That(q.TryDequeue(out string? item), Is.True, $"dequeue {i} failed");
            Assert.That(item, Is.EqualTo($"item {i}"));
        }

        Assert.That(q.TryDequeue(out string? none), Is.False);
        Assert.That(none, Is.Null);
        Assert.That(q.IsEmpty, Is.True);
        Assert.That(q.HeadPosition, Is.EqualTo(unchecked(start + 8)));
    }

    [Test]
    public void WrapsManyTimes_WithCapacity2And4_AcrossCounterBoundaries([Values(1, 2, 4)] int capacity, [ValueSource(nameof(StartPositions))] long start)
    {
        var q = new BoundedMpmcQueue<long>(capacity, start);
        long next = 0;
        long expected = 0;
        var random = new Random(12345);
        for (int round = 0; round < 5000; round++)
        {
            // Enqueue a random number (possibly to full), then dequeue a random number (possibly to empty).
            int inCount = random.Next(0, capacity + 2);
            for (int i = 0; i < inCount; i++)
            {
                bool shouldFit = next - expected < capacity;
                Assert.That(q.TryEnqueue(next), Is.EqualTo(shouldFit), $"round {round}: enqueue of {next} with {next - expected} inside");
                if (shouldFit)
                {
                    next++;
                }
            }

            int outCount = random.Next(0, capacity + 2);
            for (int i = 0; i < outCount; i++)
            {
                bool shouldHave = expected < next;
                Assert.That(q.TryDequeue(out long item), Is.EqualTo(shouldHave), $"round {round}: dequeue with {next - expected} inside");
                if (shouldHave)
                {
                    Assert.That(item, Is.EqualTo(expected), $"round {round}: FIFO order broken");
                    expected++;
                }
            }

            Assert.That(q.Count, Is.EqualTo(next - expected), $"round {round}: Count");
        }

        Assert.That(next, Is.GreaterThan(1000), "the test did not wrap the ring many times");
    }

    [Test]
    public void Dequeue_ClearsTheSlot_SoTheGcCanCollectTheItem()
    {
        var q = new BoundedMpmcQueue<object>(4);
        for (int i = 0; i < 4; i++)
        {
            q.TryEnqueue(new object());
        }

        for (int i = 0; i < 4; i++)
        {
            Assert.That(q.SlotHoldsValue(i), Is.True);
            q.TryDequeue(out _);
            Assert.That(q.SlotHoldsValue(i), Is.False, $"slot {i} still references its dequeued item");
        }

        WeakReference weak = EnqueueAndDequeueGarbage(q);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.That(weak.IsAlive, Is.False, "the queue kept a dequeued item alive");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference EnqueueAndDequeueGarbage(BoundedMpmcQueue<object> q)
    {
        var item = new object();
        q.TryEnqueue(item);
        q.TryDequeue(out _);
        return new WeakReference(item);
    }
}

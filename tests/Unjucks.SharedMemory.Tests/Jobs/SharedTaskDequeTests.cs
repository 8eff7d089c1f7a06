using Unjucks.SharedMemory.Jobs;

namespace Unjucks.SharedMemory.Tests.Jobs;

[TestFixture]
public unsafe class SharedTaskDequeTests
{
    [Test]
    public void Layout_offsets_and_sizes_are_pinned()
    {
        Assert.Multiple(() =>
        {
            Assert.That(TaskDequeLayout.CapacityOffset, Is.EqualTo(0));
            Assert.That(TaskDequeLayout.TopOffset, Is.EqualTo(128));
            Assert.That(TaskDequeLayout.BottomOffset, Is.EqualTo(256));
            Assert.That(TaskDequeLayout.RingOffset, Is.EqualTo(384));
            Assert.That(TaskDequeLayout.SizeOf(4), Is.EqualTo(512)); // 384 + 32 rounded up to 128
            Assert.That(TaskDequeLayout.SizeOf(16), Is.EqualTo(512)); // 384 + 128
            Assert.That(TaskDequeLayout.SizeOf(1024), Is.EqualTo(384 + 8192));
        });
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(3)]
    [TestCase(1000)]
    [TestCase((1 << 24) * 2)]
    public void Bad_capacity_is_rejected_with_a_message(int capacity)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => TaskDequeLayout.SizeOf(capacity));
        Assert.That(e!.Message, Does.Contain("power of two"));
    }

    [Test]
    public void Uninitialized_memory_is_refused()
    {
        using var block = new NativeBlock(TaskDequeLayout.SizeOf(8));
        var e = Assert.Throws<ArgumentException>(() => _ = new SharedTaskDeque(block.Pointer));
        Assert.That(e!.Message, Does.Contain("Initialize"));
    }

    [TestCase(0L)]
    [TestCase(int.MaxValue - 5L)]
    [TestCase(uint.MaxValue - 5L)]
    [TestCase(long.MaxValue - 5)]
    [TestCase(-7L)]
    public void Push_until_full_then_pop_everything_across_counter_wrap(long start)
    {
        using var block = new NativeBlock(TaskDequeLayout.SizeOf(4));
        TaskDequeLayout.InitializeAt(block.Pointer, 4, start);
        var deque = new SharedTaskDeque(block.Pointer);
        var taken = new List<long>();
        long next = 100;
        for (int round = 0; round < 6; round++)
        {
            for (int i = 0; i < 4; i++)
            {
                Assert.That(deque.Push(next++), Is.True, $"push {i} of round {round} from start {start}");
            }

            Assert.That(deque.Push(-5), Is.False, "a full deque (4 of 4) must refuse the push");
            Assert.That(deque.Count, Is.EqualTo(4));
            while (deque.TryPop(out long id))
            {
                taken.Add(id);
            }

            Assert.That(deque.Count, Is.EqualTo(0));
        }

        Assert.That(taken.Order(), Is.EqualTo(Enumerable.Range(100, 24).Select(x => (long)x)), "every pushed id popped exactly once");
    }

    [Test]
    public void Owner_pops_newest_first_while_more_than_a_batch_remains()
    {
        using var block = new NativeBlock(TaskDequeLayout.SizeOf(128));
        TaskDequeLayout.Initialize(block.Pointer, 128);
        var deque = new SharedTaskDeque(block.Pointer);
        for (long i = 0; i < 100; i++)
        {
            Assert.That(deque.Push(i), Is.True);
        }

        for (long expected = 99; expected >= TaskDequeLayout.MaxStealBatch; expected--)
        {
            Assert.That(deque.TryPop(out long id), Is.True);
            Assert.That(id, Is.EqualTo(expected), "LIFO while more than MaxStealBatch items lie below the popped one");
        }

        // The last MaxStealBatch come from the front (contested zone), oldest first.
        var rest = new List<long>();
        while (deque.TryPop(out long id))
        {
            rest.Add(id);
        }

        Assert.That(rest, Is.EqualTo(Enumerable.Range(0, TaskDequeLayout.MaxStealBatch).Select(x => (long)x)));
    }

    [Test]
    public void Steal_takes_oldest_and_batch_takes_half_capped()
    {
        using var a = new NativeBlock(TaskDequeLayout.SizeOf(128));
        using var b = new NativeBlock(TaskDequeLayout.SizeOf(64));
        using var c = new NativeBlock(TaskDequeLayout.SizeOf(4));
        TaskDequeLayout.Initialize(a.Pointer, 128);
        TaskDequeLayout.Initialize(b.Pointer, 64);
        TaskDequeLayout.Initialize(c.Pointer, 4);
        var victim = new SharedTaskDeque(a.Pointer);
        var thief = new SharedTaskDeque(b.Pointer);
        var small = new SharedTaskDeque(c.Pointer);
        for (long i = 0; i < 100; i++)
        {
            Assert.That(victim.Push(i), Is.True);
        }

        var stealer = victim.AsStealer();
        Assert.That(stealer.TrySteal(out long first), Is.True);
        Assert.That(first, Is.EqualTo(0));
        Assert.That(stealer.StealBatch(thief, 5), Is.EqualTo(5), "max 5 of 99");
        Assert.That(stealer.StealBatch(thief, 1000), Is.EqualTo(TaskDequeLayout.MaxStealBatch), "half of 94 is 47, capped at MaxStealBatch");
        Assert.That(stealer.StealBatch(small, 1000), Is.EqualTo(4), "limited by the destination's 4 free slots");
        Assert.That(stealer.StealBatch(small, 1000), Is.EqualTo(0), "a full destination takes nothing");
        Assert.That(victim.Count, Is.EqualTo(100 - 1 - 5 - TaskDequeLayout.MaxStealBatch - 4));

        var got = new List<long>();
        while (thief.TryPop(out long id))
        {
            got.Add(id);
        }

        while (small.TryPop(out long id))
        {
            got.Add(id);
        }

        Assert.That(got.Order(), Is.EqualTo(Enumerable.Range(1, 5 + TaskDequeLayout.MaxStealBatch + 4).Select(x => (long)x)), "stolen ids are the oldest, each once");

        while (victim.Count > 5)
        {
            Assert.That(victim.TryPop(out _), Is.True);
        }

        Assert.That(stealer.StealBatch(thief, 1000), Is.EqualTo(3), "half of 5, rounded up");
        Assert.Throws<ArgumentException>(() => thief.AsStealer().StealBatch(thief, 1), "stealing into itself");
        Assert.Throws<ArgumentOutOfRangeException>(() => stealer.StealBatch(thief, 0));
    }

    [Test]
    public void DrainDead_returns_queued_ids_and_the_in_flight_pop()
    {
        using var block = new NativeBlock(TaskDequeLayout.SizeOf(8));
        TaskDequeLayout.Initialize(block.Pointer, 8);
        var deque = new SharedTaskDeque(block.Pointer);
        for (long i = 10; i < 15; i++)
        {
            deque.Push(i);
        }

        // Simulate an owner that died inside TryPop right after decrementing bottom (slot 14 is in flight).
        // SAFETY: test-only poke at the bottom counter of a deque no other thread uses.
        *(long*)(block.Pointer + TaskDequeLayout.BottomOffset) -= 1;
        var into = new List<long>();
        int n = new SharedTaskStealer(block.Pointer).DrainDead(into);
        Assert.That(n, Is.EqualTo(4));
        Assert.That(into, Is.EqualTo(new long[] { 10, 11, 12, 13, 14 }), "queued ids oldest first, then the in-flight candidate");
    }

    [Test]
    public void DrainDead_of_a_never_used_deque_returns_nothing()
    {
        using var block = new NativeBlock(TaskDequeLayout.SizeOf(8));
        TaskDequeLayout.Initialize(block.Pointer, 8);
        var into = new List<long>();
        Assert.That(new SharedTaskStealer(block.Pointer).DrainDead(into), Is.EqualTo(0));
        Assert.That(into, Is.Empty);
    }
}

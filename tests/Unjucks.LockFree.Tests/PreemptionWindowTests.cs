namespace Unjucks.LockFree.Tests;

/// <summary>
/// The documented preemption windows, reproduced deterministically with test hooks that stop an operation
/// between its claim and its publish: the bounded queue must wait (not report empty or full) while a
/// claimed slot is in flight; the unbounded queue must skip an unpublished enqueue, wait for a dequeuer a
/// whole ring behind it, and close the ring rather than wait when no enqueuer holds its ticket.
/// </summary>
public class PreemptionWindowTests
{
    private static readonly TimeSpan StillBlocked = TimeSpan.FromMilliseconds(200);

    [Test]
    public void Bounded_PreemptedProducer_ConsumersWaitInsteadOfReportingEmpty()
    {
        var q = new BoundedMpmcQueue<string>(4);
        long claimed = q.ClaimEnqueueForTest();      // producer A: claimed position 0, not published
        Assert.That(q.TryEnqueue("B"), Is.True);      // producer B: position 1, completed

        // "Empty" would be wrong here: B's enqueue completed before this dequeue started.
        var consumer = Task.Run(() => (q.TryDequeue(out string? item), item));
        Assert.That(consumer.Wait(StillBlocked), Is.False,
            "TryDequeue returned while the item at the head was claimed but unpublished (it must wait, not report empty)");

        q.PublishEnqueueForTest(claimed, "A");
        Assert.That(consumer.Wait(Concurrent.HangGuard), Is.True, "TryDequeue did not finish after the producer published");
        Assert.That(consumer.Result, Is.EqualTo((true, (string?)"A")));
        AssertFinishes(() => q.TryDequeue(out string? second) ? second : null, "B", "FIFO");
    }

    [Test]
    public void Bounded_NothingClaimed_DequeueReportsEmptyAtOnce()
    {
        var q = new BoundedMpmcQueue<string>(4);
        Assert.That(q.TryDequeue(out _), Is.False);
        long claimed = q.ClaimEnqueueForTest();
        q.PublishEnqueueForTest(claimed, "A");
        Assert.That(q.TryDequeue(out string? item), Is.True);
        Assert.That(item, Is.EqualTo("A"));
        Assert.That(q.TryDequeue(out _), Is.False);
    }

    [Test]
    public void Bounded_PreemptedConsumer_ProducersWaitInsteadOfReportingFull()
    {
        var q = new BoundedMpmcQueue<string>(2);
        Assert.That(q.TryEnqueue("a"), Is.True);                // position 0, slot 0
        Assert.That(q.TryEnqueue("b"), Is.True);                // position 1, slot 1
        long claimed = q.ClaimDequeueForTest(out string taken); // consumer A: took "a", slot 0 not yet freed
        Assert.That(taken, Is.EqualTo("a"));
        Assert.That(q.TryDequeue(out string? b), Is.True);      // consumer B: took "b", completed
        Assert.That(b, Is.EqualTo("b"));

        // The queue holds nothing, so "full" would be wrong; position 2 maps to slot 0, which A still holds.
        // Every call that can wait runs on a task, so that a bug fails the test instead of hanging it.
        var producer = Task.Run(() => q.TryEnqueue("c"));
        Assert.That(producer.Wait(StillBlocked), Is.False,
            "TryEnqueue returned while its slot was claimed by an unfinished dequeue (it must wait, not report full)");

        q.FreeDequeueForTest(claimed);
        Assert.That(producer.Wait(Concurrent.HangGuard), Is.True, "TryEnqueue did not finish after the consumer freed the slot");
        Assert.That(producer.Result, Is.True);
        AssertFinishes(() => q.TryEnqueue("d"), true, "slot 1 is free");
        AssertFinishes(() => q.TryEnqueue("e"), false, "2 items in a queue of 2: full");
        AssertFinishes(() => q.TryDequeue(out string? c) ? c : null, "c", "FIFO");
        AssertFinishes(() => q.TryDequeue(out string? d) ? d : null, "d", "FIFO");
    }

    [Test]
    public void Bounded_FullWithADequeueInFlight_ProducerWaitsForTheSlot()
    {
        var q = new BoundedMpmcQueue<int>(2);
        q.TryEnqueue(1);
        q.TryEnqueue(2);
        AssertFinishes(() => q.TryEnqueue(3), false, "2 items in a queue of 2: full");
        long claimed = q.ClaimDequeueForTest(out int one);
        Assert.That(one, Is.EqualTo(1));
        // One item (2) plus one claimed dequeue: the claimed one may linearize first, so the queue is not
        // full; the producer waits for the slot and succeeds once it is freed.
        var producer = Task.Run(() => q.TryEnqueue(3));
        Assert.That(producer.Wait(StillBlocked), Is.False);
        q.FreeDequeueForTest(claimed);
        Assert.That(producer.Wait(Concurrent.HangGuard), Is.True);
        Assert.That(producer.Result, Is.True);
        AssertFinishes(() => q.TryEnqueue(4), false, "2 items in a queue of 2: full");
    }

    [Test]
    public void Unbounded_PreemptedEnqueuer_DequeuersSkipItsSlotWithoutWaiting()
    {
        var q = new MpmcQueue<string>();
        object segment = q.ClaimEnqueueForTest(out long index); // enqueuer A: index 0, not published
        q.Enqueue("B");                                          // enqueuer B: index 1, completed

        // The dequeuer poisons A's slot and takes B at once: A's enqueue has not completed, so it is
        // ordered after this dequeue.
        AssertFinishes(() => q.TryDequeue(out string? item) ? item : null, "B", "dequeue past an unpublished slot");
        AssertFinishes(() => q.TryDequeue(out string? item) ? item : "empty", "empty", "nothing else was enqueued");
        Assert.That(q.PublishEnqueueForTest(segment, index, "A"), Is.False, "A's slot was poisoned, so its publish must fail");
        Assert.That(q.IsEmpty, Is.True);

        // A retries as Enqueue does, at a new index, and its item is then delivered.
        q.Enqueue("A");
        AssertFinishes(() => q.TryDequeue(out string? item) ? item : null, "A", "the retried enqueue");
    }

    [Test]
    public void Unbounded_DequeuerLappingAPreemptedDequeuer_WaitsForIt()
    {
        var (q, ring, slow) = RingOfTwoWithPreemptedDequeuer();

        // C's enqueuer draws ticket 2 (slot 0, still holding A for X): the ring is not full (X holds a ticket),
        // so it waits a moment, gives that ticket up and lands on ticket 3.
        q.Enqueue("C");
        Assert.That(q.RingCount, Is.EqualTo(1), "a lapped slot in a ring that is not full closed the ring");

        // The next dequeuer draws ticket 2, whose slot X still holds: it must wait for X, not report empty
        // (C's enqueue completed before it started) and not take A (X's item).
        var consumer = Task.Run(() => (q.TryDequeue(out string? item), item));
        Assert.That(consumer.Wait(StillBlocked), Is.False, "the dequeuer did not wait for the slot's older cycle");

        Assert.That(q.FinishDequeueForTest(ring, slow, out string? a), Is.True);
        Assert.That(a, Is.EqualTo("A"), "X's ticket carried A");
        Assert.That(consumer.Wait(Concurrent.HangGuard), Is.True, "the dequeuer did not resume after X finished");
        Assert.That(consumer.Result, Is.EqualTo((true, "C")));
        Assert.That(q.IsEmpty, Is.True);
        Assert.That(q.Count, Is.Zero);
    }

    [Test]
    public void Unbounded_OvershootingDequeuerOnALappedSlot_ClosesTheRingInsteadOfWaiting()
    {
        var (q, ring, slow) = RingOfTwoWithPreemptedDequeuer();

        // Dequeuer Y overshoots: ticket 2, which no enqueuer has drawn yet, on slot 0 that X still holds.
        // Waiting for X would block an empty-queue dequeue on a preempted thread, so Y closes the ring below
        // its ticket and leaves.
        object same = q.ClaimDequeueForTest(out long overshoot);
        Assert.That(same, Is.SameAs(ring));
        AssertFinishes(() => q.FinishDequeueForTest(ring, overshoot, out _), false, "the overshooting dequeue");

        // The next enqueue finds the ring closed and links a new one; nothing is lost and A still goes to X.
        q.Enqueue("C");
        Assert.That(q.RingCount, Is.EqualTo(2));
        Assert.That(q.FinishDequeueForTest(ring, slow, out string? a), Is.True);
        Assert.That(a, Is.EqualTo("A"));
        AssertFinishes(() => q.TryDequeue(out string? item) ? item : null, "C", "the item in the new ring");
        AssertFinishes(() => q.TryDequeue(out string? item) ? item : "empty", "empty", "nothing else was enqueued");
        Assert.That(q.RingCount, Is.EqualTo(1), "the drained, closed ring is still linked from the head");
    }

    // A ring of 2 slots (no growth) whose tickets 0 and 1 carried A and B: dequeuer X holds ticket 0 (A) and
    // is "preempted" before looking at its slot; B has been dequeued.
    private static (MpmcQueue<string> Queue, object Ring, long SlowTicket) RingOfTwoWithPreemptedDequeuer()
    {
        var q = new MpmcQueue<string>(2);
        q.Enqueue("A");
        q.Enqueue("B");
        object ring = q.ClaimDequeueForTest(out long slow);
        AssertFinishes(() => q.TryDequeue(out string? item) ? item : null, "B", "the dequeue after X's ticket");
        return (q, ring, slow);
    }

    private static void AssertFinishes<TResult>(Func<TResult> operation, TResult expected, string what)
    {
        var task = Task.Run(operation);
        Assert.That(task.Wait(Concurrent.HangGuard), Is.True, $"{what}: the operation did not finish (hang guard)");
        Assert.That(task.Result, Is.EqualTo(expected), what);
    }
}

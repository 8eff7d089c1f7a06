using System.Diagnostics;
using System.Runtime.CompilerServices;
using Unjucks.SharedMemory.Layout;

namespace Unjucks.SharedMemory.Tests;

/// <summary>
/// No non-blocking call waits forever on damaged memory: a word that names a live holder (here: this process, which
/// holds nothing) ends in a TimeoutException naming its pid after the bound, a state no agent leaves in a
/// SharedRegionFormatException; blocking calls keep to their own timeout. Hang guards only, no duration asserts.
/// </summary>
[TestFixture]
public sealed unsafe class BoundedWaitTests : RegionTestBase
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Test]
    public void A_queue_slot_claimed_by_a_live_producer_that_never_publishes_is_a_timeout_naming_it()
    {
        SharedMessageQueue queue = Region().Queue("q");
        byte* body = (byte*)queue.BodyAddressForTests;
        // Damage: the enqueue position moved over slot 0 and its owner word is this agent's producer reservation,
        // as if this process had claimed it and stopped before publishing.
        Unsafe.AsRef<long>(body + QueueLayout.ControlBytes + QueueLayout.SlotOwnerOffset) = queue.ReservationForTests(0, consumer: false);
        Volatile.Write(ref Unsafe.AsRef<long>(body + QueueLayout.EnqueuePosOffset), 1);

        var e = Bounded(() => Assert.Throws<TimeoutException>(() => queue.TryDequeue(new byte[16], out _)));

        Assert.That(e!.Message, Does.Contain("slot 0 has been held for more than 250 ms").And.Contain($"(pid {Environment.ProcessId})"));
        Assert.That(Bounded(() => queue.Dequeue(new byte[16], out _, TimeSpan.FromMilliseconds(50))), Is.False, "a blocking call keeps to its own timeout");
    }

    [Test]
    public void A_queue_slot_a_lap_ahead_of_a_position_that_never_moves_is_damage()
    {
        SharedMessageQueue queue = Region().Queue("q");
        byte* body = (byte*)queue.BodyAddressForTests;
        Volatile.Write(ref Unsafe.AsRef<long>(body + QueueLayout.ControlBytes + QueueLayout.SlotSeqOffset), 5); // position 0, sequence 5

        var e = Bounded(() => Assert.Throws<SharedRegionFormatException>(() => queue.TryEnqueue([1])));

        Assert.That(e!.Message, Does.Contain("Queue 'q'").And.Contain("is damaged: slot 0").And.Contain("has sequence 5").And.Contain("Delete the region"));
        Assert.That(Bounded(() => Assert.Throws<SharedRegionFormatException>(() => queue.Enqueue([1], TimeSpan.FromSeconds(5)))), Is.Not.Null,
            "damage is not waited out by a blocking call either");
    }

    [Test]
    public void A_state_slot_whose_busy_word_names_a_live_writer_is_a_timeout_naming_it()
    {
        SharedRegion region = Region();
        region.State.Write("k", [1]);
        byte* slot = (byte*)region.State.SlotAddressForTests("k");
        int me = region.Agents.CurrentSlot;
        int generation = region.Agents.CurrentGeneration8;
        ref long seq = ref Unsafe.AsRef<long>(slot + StateSlotLayout.SeqOffset);
        Volatile.Write(ref seq, seq | 1 | ((long)(me + 1) << 1) | ((long)generation << 16)); // busy, held by this agent

        var e = Bounded(() => Assert.Throws<TimeoutException>(() => region.State.Write("k", [2])));

        Assert.That(e!.Message, Does.Contain($"held for more than 250 ms by agent slot {me} (pid {Environment.ProcessId})"));
    }

    [Test]
    public void A_directory_entry_claimed_by_a_live_agent_that_never_names_it_is_a_timeout_naming_it()
    {
        SharedRegion region = Region();
        int me = region.Agents.CurrentAgentId;
        // Damage: queue entry 0 claimed by this agent, as if it had stopped while writing the queue's name.
        byte* entry = region.Base + region.Geometry.SectionOffsets[RegionLayout.QueuesSection];
        Volatile.Write(ref Unsafe.AsRef<int>(entry + DirectoryEntryLayout.StateOffset), me);

        var e = Bounded(() => Assert.Throws<TimeoutException>(() => region.Queue("new")));

        Assert.That(e!.Message, Does.StartWith("queue entry 0 of region").And.Contain($"(pid {Environment.ProcessId})"));
    }

    private static T Bounded<T>(Func<T> call)
    {
        var stopwatch = Stopwatch.StartNew();
        var task = Task.Run(call);
        Assert.That(task.Wait(Guard), Is.True, "the call did not return");
        TestContext.Out.WriteLine($"returned after {stopwatch.ElapsedMilliseconds} ms");
        return task.Result;
    }
}

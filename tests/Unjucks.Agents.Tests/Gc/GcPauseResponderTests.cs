using Unjucks.Agents.Gc;
using Unjucks.SharedMemory;

namespace Unjucks.Agents.Tests.Gc;

/// <summary>The responder and the coordinator's argument checks, in process (two region instances = two registrations).</summary>
[TestFixture]
[NonParallelizable]
public class GcPauseResponderTests : GcRegionTestBase
{
    [Test]
    public void AtSafePoint_without_a_request_does_nothing()
    {
        var agent = OpenRegion();
        var responder = new GcPauseResponder(agent);
        responder.AtSafePoint();
        agent.State.Write("unrelated", [1, 2, 3]); // the change sequence moves; the request is read and absent
        responder.AtSafePoint();
        responder.AtSafePoint();

        Assert.That(responder.PausesServed, Is.Zero);
        Assert.That(GcRegionRecords.TryReadAck(Region, GcPauseLayout.AckKey(agent.Agents.CurrentSlot), out _), Is.False, "no ack written");
    }

    [Test]
    public void AtSafePoint_allocates_nothing_without_a_pause()
    {
        var agent = OpenRegion();
        var responder = new GcPauseResponder(agent);
        WriteRequest(Region, TimeSpan.FromSeconds(30));
        Assert.That(GcRegionRecords.TryReadRequest(Region, out var request, out long version), Is.True);
        Assert.That(GcRegionRecords.TryWriteRequest(Region, request with { State = GcRequestState.Resumed }, version, out _), Is.True);
        byte[] value = [1];
        for (int i = 0; i < 100; i++)
        {
            responder.AtSafePoint(); // warm up (tiered JIT)
            agent.State.Write("unrelated", value);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            responder.AtSafePoint(); // unchanged sequence: the fast path
            agent.State.Write("unrelated", value);
            responder.AtSafePoint(); // moved sequence: reads the (resumed) request
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero, "bytes allocated by 2000 safe points and 1000 unrelated writes");
        Assert.That(responder.PausesServed, Is.Zero);
    }

    [Test]
    public void AtSafePoint_after_a_resumed_round_does_nothing()
    {
        long epoch = WriteRequest(Region, TimeSpan.FromSeconds(30));
        Assert.That(GcRegionRecords.TryReadRequest(Region, out var request, out long version), Is.True);
        Assert.That(GcRegionRecords.TryWriteRequest(Region, request with { State = GcRequestState.Resumed }, version, out _), Is.True);
        var agent = OpenRegion();
        var responder = new GcPauseResponder(agent);
        responder.AtSafePoint();

        Assert.That(responder.PausesServed, Is.Zero, $"epoch {epoch} is over");
    }

    [Test]
    public void A_request_left_by_a_dead_coordinator_is_not_served()
    {
        var coordinator = OpenRegion();
        WriteRequest(coordinator, TimeSpan.FromMinutes(10));
        coordinator.Dispose();
        var agent = OpenRegion();
        var responder = new GcPauseResponder(agent);
        var done = Task.Run(() => responder.AtSafePoint());

        Assert.That(done.Wait(HangGuard), Is.True, "hang guard: AtSafePoint paused for a dead coordinator");
        Assert.That(responder.PausesServed, Is.Zero);
    }

    [Test]
    public void A_pause_acknowledges_blocks_until_resumed_and_publishes_after_values()
    {
        var agent = OpenRegion();
        var responder = new GcPauseResponder(agent);
        int slot = agent.Agents.CurrentSlot;
        long epoch = WriteRequest(Region, TimeSpan.FromMinutes(10));
        using var returned = new ManualResetEventSlim();
        var thread = new Thread(() =>
        {
            responder.AtSafePoint();
            returned.Set();
        }) { IsBackground = true };
        thread.Start();

        var paused = WaitForAck(slot, ack => ack.Epoch == epoch);
        Assert.That(paused.Phase, Is.EqualTo(GcAckPhase.Paused));
        Assert.That(paused.Pid, Is.EqualTo(Environment.ProcessId));
        Assert.That(returned.Wait(TimeSpan.FromMilliseconds(300)), Is.False, "AtSafePoint returned before the resume");

        Assert.That(GcRegionRecords.TryReadRequest(Region, out var request, out long version), Is.True);
        Assert.That(GcRegionRecords.TryWriteRequest(Region, request with { State = GcRequestState.Resumed }, version, out _), Is.True);
        Assert.That(returned.Wait(HangGuard), Is.True, "hang guard: not released by the resume");
        var released = WaitForAck(slot, ack => ack.Epoch == epoch && ack.Phase == GcAckPhase.Released);
        Assert.That(released.Reason, Is.EqualTo(GcReleaseReason.Resumed));
        Assert.That(released.BytesBefore, Is.EqualTo(paused.BytesBefore));
        Assert.That(released.PausedTicks, Is.Positive);
        Assert.That(responder.PausesServed, Is.EqualTo(1));

        responder.AtSafePoint(); // the same epoch is never served twice
        Assert.That(responder.PausesServed, Is.EqualTo(1));
    }

    [Test]
    public void Cancelling_a_pause_throws_and_still_publishes_the_release()
    {
        var agent = OpenRegion();
        var responder = new GcPauseResponder(agent);
        int slot = agent.Agents.CurrentSlot;
        long epoch = WriteRequest(Region, TimeSpan.FromMinutes(10));
        using var cts = new CancellationTokenSource();
        var pause = Task.Run(() => responder.AtSafePoint(cts.Token));
        WaitForAck(slot, ack => ack.Epoch == epoch && ack.Phase == GcAckPhase.Paused);
        cts.Cancel();

        Assert.That(async () => await pause.WaitAsync(HangGuard), Throws.InstanceOf<OperationCanceledException>());
        var released = WaitForAck(slot, ack => ack.Epoch == epoch && ack.Phase == GcAckPhase.Released);
        Assert.That(released.Reason, Is.EqualTo(GcReleaseReason.Cancelled));
    }

    [Test]
    public async Task A_second_coordinator_gets_a_typed_exception_while_a_live_one_runs_a_round()
    {
        var first = OpenRegion();
        long epoch = WriteRequest(first, TimeSpan.FromMinutes(10));
        var e = await Assert.ThrowsAsync<GcRoundInProgressException>(() => CoordinatedGc.RunRoundAsync(Region, [], TimeSpan.FromSeconds(1)));
        Assert.That((e!.Epoch, e.CoordinatorPid), Is.EqualTo((epoch, Environment.ProcessId)));

        first.Dispose(); // the first coordinator dies: its round is taken over
        var result = await CoordinatedGc.RunRoundAsync(Region, [], TimeSpan.FromSeconds(1)).WaitAsync(HangGuard);
        Assert.That(result.Epoch, Is.GreaterThan(epoch));
        Assert.That(result.Agents, Is.Empty);
        Assert.That(GcRegionRecords.TryReadRequest(Region, out var request, out _), Is.True);
        Assert.That((request.State, request.Epoch), Is.EqualTo((GcRequestState.Resumed, result.Epoch)));
    }

    [Test]
    public async Task Bad_arguments_are_rejected()
    {
        Assert.Throws<ArgumentNullException>(() => _ = new GcPauseResponder(null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => CoordinatedGc.RunRoundAsync(Region, null!, TimeSpan.FromSeconds(1)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => CoordinatedGc.RunRoundAsync(Region, [], TimeSpan.Zero));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => CoordinatedGc.RunRoundAsync(Region, [], Timeout.InfiniteTimeSpan));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => CoordinatedGc.RunRoundAsync(Region, [], new GcRoundOptions { InductionTimeout = TimeSpan.FromSeconds(-1) }));
        var dup = await Assert.ThrowsAsync<ArgumentException>(() => CoordinatedGc.RunRoundAsync(Region, [new GcTarget(1, 10), new GcTarget(1, 11)], TimeSpan.FromSeconds(1)));
        Assert.That(dup!.Message, Does.Contain("slot 1 is listed twice"));
        await Assert.ThrowsAsync<ArgumentException>(() => CoordinatedGc.RunRoundAsync(Region, [new GcTarget(Region.Agents.Capacity, 10)], TimeSpan.FromSeconds(1)));
        await Assert.ThrowsAsync<ArgumentException>(() => CoordinatedGc.RunRoundAsync(Region, [new GcTarget(0, 0)], TimeSpan.FromSeconds(1)));

        using var tiny = SharedRegion.CreateOrOpen("tiny-" + Guid.NewGuid().ToString("N"), Options with { MaxValueBytes = 32 });
        var small = Assert.Throws<ArgumentException>(() => _ = new GcPauseResponder(tiny));
        Assert.That(small!.Message, Does.Contain("MaxValueBytes >= 64"));
    }
}

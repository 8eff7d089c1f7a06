using System.Buffers.Binary;

namespace Unjucks.SharedMemory.Tests;

/// <summary>Behaviour between real processes: the TestAgent children open the same region file.</summary>
public class CrossProcessTests : RegionTestBase
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Test, Repeat(3)]
    public void Processes_incrementing_with_TryUpdate_end_at_the_exact_total()
    {
        SharedRegion region = Region();
        const int processes = 3;
        const int perProcess = 300;
        AgentProcess[] agents = Enumerable.Range(0, processes)
            .Select(_ => StartAgent(region, "increment", "counter", perProcess.ToString()))
            .ToArray();
        foreach (AgentProcess agent in agents)
        {
            Assert.That(agent.WaitForSuccess().Trim(), Is.EqualTo("done"));
        }

        Span<byte> buffer = stackalloc byte[8];
        Assert.That(region.State.TryRead("counter", buffer, out int length, out long version), Is.True);
        Assert.That(length, Is.EqualTo(8));
        Assert.That(BinaryPrimitives.ReadInt64LittleEndian(buffer), Is.EqualTo(processes * perProcess));
        Assert.That(version, Is.EqualTo(processes * perProcess), "one version per successful update");
    }

    [Test, Repeat(3)]
    public void Producer_and_consumer_processes_deliver_every_message_exactly_once()
    {
        SharedRegion region = Region(); // QueueCapacity 16: producers block on a full queue
        const int producers = 2;
        const int consumers = 2;
        const int perProducer = 2000;
        string[] outputs = Enumerable.Range(0, consumers).Select(c => Path.Combine(Directory, $"consumer-{c}.bin")).ToArray();
        AgentProcess[] consumerAgents = outputs.Select(file => StartAgent(region, "consume", "q", file)).ToArray();
        AgentProcess[] producerAgents = Enumerable.Range(0, producers)
            .Select(p => StartAgent(region, "produce", "q", p.ToString(), perProducer.ToString()))
            .ToArray();
        foreach (AgentProcess producer in producerAgents)
        {
            Assert.That(producer.WaitForSuccess().Trim(), Is.EqualTo("done"));
        }

        byte[] poison = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(poison, -1);
        SharedMessageQueue queue = region.Queue("q");
        for (int c = 0; c < consumers; c++)
        {
            Assert.That(queue.Enqueue(poison, HangGuard), Is.True);
        }

        foreach (AgentProcess consumer in consumerAgents)
        {
            Assert.That(consumer.WaitForSuccess().Trim(), Is.EqualTo("done"));
        }

        var counts = new Dictionary<(int Producer, int Index), int>();
        foreach (string file in outputs)
        {
            byte[] bytes = File.ReadAllBytes(file);
            for (int offset = 0; offset < bytes.Length; offset += 8)
            {
                var key = (BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset)), BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset + 4)));
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        }

        Assert.That(counts, Has.Count.EqualTo(producers * perProducer), "distinct messages received");
        Assert.That(counts.Where(kv => kv.Value != 1).Select(kv => kv.Key), Is.Empty, "duplicated messages");
        Assert.That(counts.Keys.Where(k => k.Producer is < 0 or >= producers || k.Index is < 0 or >= perProducer), Is.Empty, "unknown messages");
        Assert.That(queue.Count, Is.Zero);
    }

    [Test]
    public void Lock_of_a_killed_owner_goes_to_the_next_acquirer_who_is_told()
    {
        SharedRegion region = Region();
        AgentProcess owner = StartAgent(region, "hold-lock", "l");
        owner.ExpectLine("locked");
        SharedLock sharedLock = region.Lock("l");
        Assert.That(sharedLock.TryAcquire(out _), Is.False, "a live owner keeps its lock");

        owner.Kill();
        using SharedLockHandle handle = sharedLock.Acquire(HangGuard);
        Assert.That(handle.PreviousOwnerDied, Is.True);
        // Taken on the first liveness check, before any 20 ms park slice: this is what makes the takeover
        // happen well within 100 ms of the owner's death without asserting a wall-clock time.
        Assert.That(sharedLock.LastAcquireParks, Is.Zero);
    }

    [Test]
    public void Parked_waiter_gets_the_lock_when_the_owner_is_killed()
    {
        SharedRegion region = Region();
        AgentProcess owner = StartAgent(region, "hold-lock", "l");
        owner.ExpectLine("locked");
        SharedLock sharedLock = region.Lock("l");
        Task<bool> waiter = Task.Run(() =>
        {
            using SharedLockHandle handle = sharedLock.Acquire(HangGuard);
            return handle.PreviousOwnerDied;
        });
        Thread.Sleep(100); // let it park (not required for correctness)
        owner.Kill();
        Assert.That(waiter.Wait(HangGuard), Is.True, "hang guard");
        Assert.That(waiter.Result, Is.True);
        using SharedLockHandle again = sharedLock.Acquire(HangGuard);
        Assert.That(again.PreviousOwnerDied, Is.False, "a normal release does not report a death");
    }

    [Test]
    public void Writer_killed_mid_write_neither_blocks_readers_nor_the_next_writer()
    {
        SharedRegion region = Region();
        byte[] original = Enumerable.Repeat((byte)1, 64).ToArray();
        Assert.That(region.State.Write("k", original), Is.EqualTo(1));

        AgentProcess writer = StartAgent(region, "stall-write", "k", "171");
        writer.ExpectLine("stalled"); // the child holds the slot's busy bit and has half-written the new value
        var buffer = new byte[64];
        Assert.That(region.State.TryRead("k", buffer, out int length, out long version), Is.True, "reader during the stalled write");
        Assert.That((length, version), Is.EqualTo((64, 1L)));
        Assert.That(buffer, Is.EqualTo(original), "the reader sees the last complete value, not the half-written one");

        writer.Kill();
        Assert.That(region.State.TryRead("k", buffer, out _, out version), Is.True);
        Assert.That(version, Is.EqualTo(1));
        byte[] next = Enumerable.Repeat((byte)2, 64).ToArray();
        long written = region.State.Write("k", next); // takes the slot over from the dead writer
        Assert.That(written, Is.EqualTo(2), "versions only grow");
        Assert.That(region.State.TryRead("k", buffer, out _, out version), Is.True);
        Assert.That((buffer, version), Is.EqualTo((next, 2L)));
        Assert.That(region.State.TryUpdate("k", [3], 2, out long third), Is.True);
        Assert.That(third, Is.EqualTo(3));
    }

    [Test]
    public void WaitForChange_wakes_a_waiting_process()
    {
        SharedRegion region = Region();
        long seen = region.ChangeSequence;
        AgentProcess waiter = StartAgent(region, "wait-change", seen.ToString(), "30000");
        waiter.ExpectLine("waiting");
        Thread.Sleep(100); // let it park (not required for correctness)
        region.State.Write("k", [1]);
        waiter.ExpectLine($"changed {seen + 1}");
        Assert.That(waiter.WaitForSuccess().Trim(), Is.EqualTo("done"));
    }

    [Test]
    public void Producer_killed_between_claim_and_publish_does_not_wedge_the_queue()
    {
        SharedRegion region = Region();
        SharedMessageQueue queue = region.Queue("q");
        AgentProcess producer = StartAgent(region, "stall-enqueue", "q");
        producer.ExpectLine("stalled");
        Assert.That(queue.TryEnqueue([7]), Is.True, "a message behind the claimed slot");
        producer.Kill();

        var buffer = new byte[16];
        Assert.That(queue.Dequeue(buffer, out int length, HangGuard), Is.True, "the dead producer's slot is skipped");
        Assert.That((length, buffer[0]), Is.EqualTo((1, (byte)7)));
        Assert.That(queue.TryDequeue(buffer, out _), Is.False);
        for (int i = 0; i < 40; i++)
        {
            Assert.That(queue.TryEnqueue([(byte)i]), Is.True);
            Assert.That(queue.TryDequeue(buffer, out _), Is.True);
            Assert.That(buffer[0], Is.EqualTo((byte)i));
        }
    }

    [Test]
    public void Consumer_killed_holding_a_message_loses_only_that_message()
    {
        SharedRegion region = Region(); // QueueCapacity 16
        SharedMessageQueue queue = region.Queue("q");
        for (int i = 0; i < 16; i++)
        {
            Assert.That(queue.TryEnqueue([(byte)i]), Is.True, $"message {i}");
        }

        AgentProcess consumer = StartAgent(region, "stall-dequeue", "q");
        consumer.ExpectLine("stalled"); // took message 0, has not freed its slot
        consumer.Kill();

        Assert.That(queue.Enqueue([16], HangGuard), Is.True, "the dead consumer's slot is freed for the next lap");
        var buffer = new byte[16];
        var received = new List<byte>();
        while (queue.TryDequeue(buffer, out int length))
        {
            Assert.That(length, Is.EqualTo(1));
            received.Add(buffer[0]);
        }

        Assert.That(received, Is.EqualTo(Enumerable.Range(1, 16).Select(i => (byte)i)), "message 0 died with its consumer");
    }

    [Test]
    public void Writer_killed_while_creating_a_key_leaves_it_absent_and_writable()
    {
        SharedRegion region = Region();
        AgentProcess writer = StartAgent(region, "stall-write", "fresh", "9");
        writer.ExpectLine("stalled"); // bound the key, half-wrote its first value, holds the busy bit
        var buffer = new byte[64];
        Assert.That(region.State.TryRead("fresh", buffer, out _, out long version), Is.False);
        Assert.That(version, Is.Zero);
        writer.Kill();
        Assert.That(region.State.TryUpdate("fresh", [1], 0, out long created), Is.True, "create-only still sees it absent");
        Assert.That(created, Is.EqualTo(1));
        Assert.That(region.State.TryRead("fresh", buffer, out int length, out version), Is.True);
        Assert.That((length, buffer[0], version), Is.EqualTo((1, (byte)1, 1L)));
    }

    [Test]
    public void Registry_sees_a_killed_agent_as_dead_and_reclaims_its_slot()
    {
        SharedRegion region = Region();
        region.Agents.Register();
        AgentProcess child = StartAgent(region, "register");
        string line = child.ReadLine();
        Assert.That(line, Does.StartWith("registered "));
        int slot = int.Parse(line["registered ".Length..]);
        Assert.That(region.Agents.IsAlive(slot), Is.True);
        Assert.That(region.Agents.GetInfo(slot).ProcessId, Is.EqualTo(child.Id));
        Assert.That(region.Agents.ReclaimStale(), Is.Zero, "live agents are not reclaimed");

        child.Kill();
        Assert.That(region.Agents.IsAlive(slot), Is.False);
        Assert.That(region.Agents.GetInfo(slot).State, Is.EqualTo(AgentSlotState.Active), "not yet reclaimed");
        Assert.That(region.Agents.ReclaimStale(), Is.EqualTo(1));
        Assert.That(region.Agents.GetInfo(slot).State, Is.EqualTo(AgentSlotState.Free));
        Assert.That(region.Agents.IsAlive(region.Agents.CurrentSlot), Is.True);
    }
}

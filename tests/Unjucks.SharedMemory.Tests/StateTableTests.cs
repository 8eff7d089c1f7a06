using System.Buffers.Binary;

namespace Unjucks.SharedMemory.Tests;

public class StateTableTests : RegionTestBase
{
    [Test]
    public void Write_read_update_delete_and_versions()
    {
        SharedStateTable state = Region().State;
        Span<byte> buffer = stackalloc byte[64];
        Assert.That(state.TryRead("a", buffer, out int length, out long version), Is.False);
        Assert.That((length, version), Is.EqualTo((0, 0L)));

        Assert.That(state.TryUpdate("a", [1], 5, out long current), Is.False, "update of an absent key with a version");
        Assert.That(current, Is.Zero);
        Assert.That(state.TryUpdate("a", [1], 0, out long v1), Is.True, "create-only");
        Assert.That(v1, Is.EqualTo(1));
        Assert.That(state.TryUpdate("a", [2], 0, out current), Is.False, "create-only on a present key");
        Assert.That(current, Is.EqualTo(1));
        Assert.That(state.TryUpdate("a", [2, 2], 1, out long v2), Is.True);
        Assert.That(v2, Is.EqualTo(2));
        Assert.That(state.TryUpdate("a", [3], 1, out current), Is.False, "stale version");
        Assert.That(current, Is.EqualTo(2));
        Assert.That(state.Write("a", [4, 4, 4]), Is.EqualTo(3));
        Assert.That(state.TryRead("a", buffer, out length, out version), Is.True);
        Assert.That((length, version, buffer[2]), Is.EqualTo((3, 3L, (byte)4)));

        Assert.That(state.TryDelete("a", 2), Is.False, "delete with a stale version");
        Assert.That(state.TryDelete("a", 3), Is.True);
        Assert.That(state.TryRead("a", buffer, out _, out version), Is.False);
        Assert.That(version, Is.EqualTo(4), "the tombstone carries the deletion's version");
        Assert.That(state.TryDelete("a", 0), Is.False, "already deleted");
        Assert.That(state.TryDelete("never", 0), Is.False);
        Assert.That(state.TryUpdate("a", [5], 0, out long v5), Is.True, "re-create after delete");
        Assert.That(v5, Is.EqualTo(5), "versions keep growing across a delete");
        Assert.That(state.Write("empty-value", ReadOnlySpan<byte>.Empty), Is.EqualTo(1));
        Assert.That(state.TryRead("empty-value", buffer, out length, out _), Is.True);
        Assert.That(length, Is.Zero);
    }

    [Test]
    public void Every_slot_can_be_filled_then_the_table_reports_full()
    {
        SharedStateTable state = Region().State;
        for (int i = 0; i < state.Capacity; i++)
        {
            Assert.That(state.Write("key-" + i, BitConverter.GetBytes(i)), Is.EqualTo(1), $"key-{i}");
        }

        Span<byte> buffer = stackalloc byte[8];
        for (int i = 0; i < state.Capacity; i++)
        {
            Assert.That(state.TryRead("key-" + i, buffer, out int length, out _), Is.True, $"key-{i}");
            Assert.That(BinaryPrimitives.ReadInt32LittleEndian(buffer), Is.EqualTo(i));
            Assert.That(length, Is.EqualTo(4));
        }

        Assert.That(state.TryUpdate("one-more", [1], 3, out long none), Is.False, "a conditional update of an absent key needs no slot");
        Assert.That(none, Is.Zero);
        Assert.That(state.TryDelete("one-more", 0), Is.False);
        var error = Assert.Throws<SharedRegionFullException>(() => state.Write("one-more", [1]))!;
        Assert.That(error.Message, Does.Contain("StateSlots"));
        Assert.That(state.Write("key-3", [9]), Is.EqualTo(2), "existing keys still update when full");
        Assert.That(state.TryRead("one-more", buffer, out _, out _), Is.False);
    }

    [Test, Repeat(5)]
    public void Threads_incrementing_with_TryUpdate_end_at_the_exact_total()
    {
        SharedRegion region = Region();
        const int threads = 4;
        const int perThread = 2000;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, worker =>
        {
            Span<byte> buffer = stackalloc byte[8];
            for (int i = 0; i < perThread; i++)
            {
                while (true)
                {
                    bool present = region.State.TryRead("counter", buffer, out _, out long version);
                    long next = (present ? BinaryPrimitives.ReadInt64LittleEndian(buffer) : 0) + 1;
                    BinaryPrimitives.WriteInt64LittleEndian(buffer, next);
                    if (region.State.TryUpdate("counter", buffer, present ? version : 0, out _))
                    {
                        break;
                    }
                }
            }
        });

        Span<byte> result = stackalloc byte[8];
        Assert.That(region.State.TryRead("counter", result, out int resultLength, out long finalVersion), Is.True);
        Assert.That(BinaryPrimitives.ReadInt64LittleEndian(result), Is.EqualTo(threads * perThread));
        Assert.That(finalVersion, Is.EqualTo(threads * perThread));
    }

    [Test, Repeat(5)]
    public void Readers_never_see_a_torn_value()
    {
        SharedRegion region = Region();
        using var stop = new CancellationTokenSource();
        long torn = 0;
        long reads = 0;
        long lastVersionSeen = 0;
        // Every value written here is 64 copies of its version's low byte, this first one (version 1) included: a
        // reader that runs before the loop's first write must see a consistent value, not a false "torn" one.
        region.State.Write("v", Enumerable.Repeat((byte)1, 64).ToArray());
        Task[] readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            var buffer = new byte[64];
            long previous = 0;
            while (!stop.IsCancellationRequested)
            {
                Assert.That(region.State.TryRead("v", buffer, out int length, out long version), Is.True);
                byte first = buffer[0];
                if (length != 64 || buffer.AsSpan(0, length).IndexOfAnyExcept(first) >= 0 || first != (byte)version)
                {
                    Interlocked.Increment(ref torn);
                }

                if (version < previous)
                {
                    Interlocked.Increment(ref torn); // versions only move forward
                }

                previous = version;
                Interlocked.Increment(ref reads);
                Volatile.Write(ref lastVersionSeen, version);
            }
        })).ToArray();

        var value = new byte[64];
        // Keep writing until the readers have overlapped plenty of writes (they may start late on a busy box).
        for (int i = 2; i <= 20_000 || (Interlocked.Read(ref reads) < 5_000 && i < 50_000_000); i++)
        {
            Array.Fill(value, (byte)i);
            Assert.That(region.State.Write("v", value), Is.EqualTo(i));
        }

        stop.Cancel();
        Task.WaitAll(readers);
        Assert.That(Interlocked.Read(ref torn), Is.Zero, $"torn reads out of {reads}");
        Assert.That(Interlocked.Read(ref reads), Is.GreaterThanOrEqualTo(5_000));
    }

    [Test, Repeat(3)]
    public void Racing_creators_of_one_key_bind_it_once()
    {
        SharedRegion region = Region();
        const int threads = 4;
        int created = 0;
        using var barrier = new Barrier(threads);
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            for (int k = 0; k < 20; k++)
            {
                barrier.SignalAndWait();
                if (region.State.TryUpdate("key-" + k, [(byte)t], 0, out _))
                {
                    Interlocked.Increment(ref created);
                }
            }
        });

        Assert.That(created, Is.EqualTo(20), "exactly one creator per key");
        for (int k = 0; k < 20; k++)
        {
            Assert.That(region.State.TryRead("key-" + k, new byte[4], out _, out long version), Is.True);
            Assert.That(version, Is.EqualTo(1), $"key-{k}");
        }
    }

    [Test]
    public void WaitForChange_times_out_wakes_and_cancels()
    {
        SharedRegion region = Region();
        long seen = region.ChangeSequence;
        Assert.That(region.WaitForChange(seen, TimeSpan.FromMilliseconds(20)), Is.False);

        Task<bool> waiter = Task.Run(() => region.WaitForChange(seen, TimeSpan.FromSeconds(30)));
        Thread.Sleep(50);
        region.State.Write("k", [1]);
        Assert.That(waiter.Wait(TimeSpan.FromSeconds(30)), Is.True, "hang guard");
        Assert.That(waiter.Result, Is.True);
        Assert.That(region.ChangeSequence, Is.EqualTo(seen + 1));
        Assert.That(region.State.TryUpdate("k", [2], 99, out _), Is.False);
        Assert.That(region.ChangeSequence, Is.EqualTo(seen + 1), "a failed update is not a change");

        using var cancel = new CancellationTokenSource();
        Task cancelled = Task.Run(() => region.WaitForChange(region.ChangeSequence, TimeSpan.FromSeconds(30), cancel.Token));
        Thread.Sleep(50);
        cancel.Cancel();
        Assert.That(() => cancelled.Wait(TimeSpan.FromSeconds(30)), Throws.InstanceOf<AggregateException>()
            .With.InnerException.InstanceOf<OperationCanceledException>());
    }
}

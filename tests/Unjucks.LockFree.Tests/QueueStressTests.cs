namespace Unjucks.LockFree.Tests;

/// <summary>
/// P producers x C consumers on both queues: every item leaves exactly once, none is invented, and every
/// consumer sees each producer's items in the order that producer enqueued them. Items are
/// (producerId &lt;&lt; 32) | sequence.
/// </summary>
public class QueueStressTests
{
    private const int Repeats = 10;

    public static IEnumerable<TestCaseData> Shapes()
    {
        foreach (int n in new[] { 1, 2, 4, 8, 16 })
        {
            yield return new TestCaseData(n, n).SetArgDisplayNames($"{n}P x {n}C");
        }

        yield return new TestCaseData(1, 16).SetArgDisplayNames("1P x 16C");
        yield return new TestCaseData(16, 1).SetArgDisplayNames("16P x 1C");
    }

    [TestCaseSource(nameof(Shapes))]
    [Repeat(Repeats)]
    public void BoundedQueue_Capacity8(int producers, int consumers)
    {
        var q = new BoundedMpmcQueue<long>(8);
        RunAndCheck(producers, consumers, 20_000, q.TryEnqueue, q.TryDequeue, () => q.Count);
    }

    [TestCaseSource(nameof(Shapes))]
    [Repeat(Repeats)]
    public void UnboundedQueue_DefaultSegments(int producers, int consumers)
    {
        var q = new MpmcQueue<long>();
        RunAndCheck(producers, consumers, 20_000, item => { q.Enqueue(item); return true; }, q.TryDequeue, () => q.IsEmpty && q.Count == 0 ? 0 : Math.Max(1, q.Count));
    }

    [TestCaseSource(nameof(Shapes))]
    [Repeat(Repeats)]
    public void UnboundedQueue_TinyRings(int producers, int consumers)
    {
        // Tiny rings that never grow: thousands of ring closes, laps (a ticket whose slot still holds an older
        // cycle), linking races and head/tail helping. A ring of 1 slot laps on every other ticket.
        foreach (int ringSize in new[] { 1, 4 })
        {
            var q = new MpmcQueue<long>(ringSize);
            RunAndCheck(producers, consumers, 20_000, item => { q.Enqueue(item); return true; }, q.TryDequeue, () => q.IsEmpty && q.Count == 0 ? 0 : Math.Max(1, q.Count));
        }
    }

    [Test]
    [Repeat(Repeats)]
    public void BoundedQueue_AcrossCounterBoundaries([Values(int.MaxValue - 5L, uint.MaxValue - 5L, long.MaxValue - 5)] long start, [Values(2, 8)] int capacity)
    {
        var q = new BoundedMpmcQueue<long>(capacity, start);
        RunAndCheck(4, 4, 20_000, q.TryEnqueue, q.TryDequeue, () => q.Count);
        Assert.That(unchecked(q.HeadPosition - start), Is.EqualTo(20_000), "head did not advance by the number of items");
    }

    internal delegate bool TryTake(out long item);

    internal static void RunAndCheck(int producers, int consumers, int totalItems, Func<long, bool> tryEnqueue, TryTake tryDequeue, Func<int> remaining)
    {
        int perProducer = totalItems / producers;
        int total = perProducer * producers;
        long taken = 0;
        var received = new List<long>[consumers];
        var bodies = new List<Action>();
        for (int p = 0; p < producers; p++)
        {
            long id = p;
            bodies.Add(() =>
            {
                var spin = new SpinWait();
                for (long seq = 0; seq < perProducer; seq++)
                {
                    long item = (id << 32) | seq;
                    while (!tryEnqueue(item))
                    {
                        spin.SpinOnce(sleep1Threshold: -1); // full: let consumers run (yield, never sleep 1 ms)
                    }
                }
            });
        }

        for (int c = 0; c < consumers; c++)
        {
            var mine = received[c] = new List<long>(total / consumers + 16);
            bodies.Add(() =>
            {
                var spin = new SpinWait();
                while (Volatile.Read(ref taken) < total)
                {
                    if (tryDequeue(out long item))
                    {
                        mine.Add(item);
                        Interlocked.Increment(ref taken);
                        spin.Reset();
                    }
                    else
                    {
                        spin.SpinOnce(sleep1Threshold: -1); // empty: let producers run (yield, never sleep 1 ms)
                    }
                }
            });
        }

        Concurrent.Run($"{producers}P x {consumers}C", [.. bodies]);

        var seen = new int[producers, perProducer];
        for (int c = 0; c < consumers; c++)
        {
            var last = new long[producers];
            Array.Fill(last, -1);
            foreach (long item in received[c])
            {
                int producer = (int)(item >> 32);
                int seq = (int)(item & 0xFFFF_FFFF);
                Assert.That(producer >= 0 && producer < producers && seq >= 0 && seq < perProducer, Is.True,
                    $"consumer {c} received an item that was never enqueued: 0x{item:X}");
                Assert.That(seq, Is.GreaterThan(last[producer]),
                    $"consumer {c} received producer {producer}'s item {seq} after its item {last[producer]}");
                last[producer] = seq;
                seen[producer, seq]++;
            }
        }

        for (int p = 0; p < producers; p++)
        {
            for (int s = 0; s < perProducer; s++)
            {
                Assert.That(seen[p, s], Is.EqualTo(1), $"producer {p}'s item {s} was dequeued {seen[p, s]} times");
            }
        }

        Assert.That(received.Sum(r => r.Count), Is.EqualTo(total), "items out != items in");
        Assert.That(tryDequeue(out long extra), Is.False, $"the queue still returned 0x{extra:X} after every item was taken");
        Assert.That(remaining(), Is.Zero, "the queue does not look empty after every item was taken");
    }
}

using System.Runtime.CompilerServices;

namespace Unjucks.LockFree.Tests;

/// <summary>Single-thread semantics and argument validation of WorkStealingDeque.</summary>
public class WorkStealingDequeTests
{
    public static readonly long[] StartPositions = [0, int.MaxValue - 5L, uint.MaxValue - 5L, long.MaxValue - 5, -5];

    [TestCase(0)]
    [TestCase(-3)]
    [TestCase((1 << 30) + 1)]
    [TestCase(int.MaxValue)]
    public void Constructor_RejectsCapacityOutside1To2Pow30(int capacity)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new WorkStealingDeque<int>(capacity));
        Assert.That(e!.ParamName, Is.EqualTo("initialCapacity"));
        Assert.That(e.Message, Does.Contain("2^30"));
    }

    [Test]
    public void StealHalf_RejectsNullAndSelf()
    {
        var d = new WorkStealingDeque<int>();
        Assert.Throws<ArgumentNullException>(() => d.StealHalf(null!));
        var e = Assert.Throws<ArgumentException>(() => d.StealHalf(d));
        Assert.That(e!.ParamName, Is.EqualTo("destination"));
    }

    [TestCaseSource(nameof(StartPositions))]
    public void Pop_IsLifo_Steal_IsFifo(long start)
    {
        var d = new WorkStealingDeque<int>(4, start);
        Assert.That(d.TryPop(out _), Is.False);
        Assert.That(d.TrySteal(out _), Is.False);
        for (int i = 0; i < 10; i++)
        {
            d.Push(i);
        }

        Assert.That(d.Count, Is.EqualTo(10));
        Assert.That(d.TrySteal(out int s0), Is.True);
        Assert.That(d.TrySteal(out int s1), Is.True);
        Assert.That((s0, s1), Is.EqualTo((0, 1)), "steal is not oldest first");
        for (int i = 9; i >= 2; i--)
        {
            Assert.That(d.TryPop(out int item), Is.True, $"pop of {i}");
            Assert.That(item, Is.EqualTo(i), "pop is not newest first");
        }

        Assert.That(d.TryPop(out _), Is.False);
        Assert.That(d.TrySteal(out _), Is.False);
        Assert.That(d.IsEmpty, Is.True);
    }

    [TestCaseSource(nameof(StartPositions))]
    public void Growth_PreservesOrder_WithCapacity1(long start)
    {
        var d = new WorkStealingDeque<int>(1, start);
        for (int i = 0; i < 1000; i++)
        {
            d.Push(i);
            if (i % 7 == 3)
            {
                Assert.That(d.TrySteal(out int stolen), Is.True);
                Assert.That(stolen, Is.EqualTo(i / 7), "steal order after growth"); // one steal per 7 pushes, oldest first
            }
        }

        Assert.That(d.BufferLength, Is.GreaterThanOrEqualTo(d.Count));
        int expectedStolen = 1000 / 7 + (1000 % 7 > 3 ? 1 : 0);
        Assert.That(d.Count, Is.EqualTo(1000 - expectedStolen));
        for (int i = 999; i >= expectedStolen; i--)
        {
            Assert.That(d.TryPop(out int item), Is.True);
            Assert.That(item, Is.EqualTo(i));
        }

        Assert.That(d.TryPop(out _), Is.False);
    }

    [Test]
    public void WrapsManyTimes_WithCapacity2And4([Values(2, 4)] int capacity, [ValueSource(nameof(StartPositions))] long start)
    {
        var d = new WorkStealingDeque<long>(capacity, start);
        var model = new LinkedList<long>();
        var random = new Random(99);
        long next = 0;
        for (int step = 0; step < 20000; step++)
        {
            switch (random.Next(3))
            {
                case 0:
                    if (model.Count < capacity)
                    {
                        d.Push(next);
                        model.AddLast(next++);
                    }

                    break;
                case 1:
                    bool popped = d.TryPop(out long p);
                    Assert.That(popped, Is.EqualTo(model.Count > 0), $"step {step}: pop with {model.Count} inside");
                    if (popped)
                    {
                        Assert.That(p, Is.EqualTo(model.Last!.Value), $"step {step}: pop");
                        model.RemoveLast();
                    }

                    break;
                default:
                    bool stolen = d.TrySteal(out long s);
                    Assert.That(stolen, Is.EqualTo(model.Count > 0), $"step {step}: steal with {model.Count} inside");
                    if (stolen)
                    {
                        Assert.That(s, Is.EqualTo(model.First!.Value), $"step {step}: steal");
                        model.RemoveFirst();
                    }

                    break;
            }

            Assert.That(d.Count, Is.EqualTo(model.Count), $"step {step}: Count");
        }

        Assert.That(d.BufferLength, Is.EqualTo(capacity), "the deque grew although it never held more than its capacity");
    }

    [TestCase(0, 0)]
    [TestCase(1, 1)]
    [TestCase(2, 1)]
    [TestCase(3, 2)]
    [TestCase(10, 5)]
    [TestCase(11, 6)]
    public void StealHalf_MovesHalfRoundedUp_OldestFirst(int items, int expectedMoved)
    {
        var victim = new WorkStealingDeque<int>(2);
        var mine = new WorkStealingDeque<int>(1);
        for (int i = 0; i < items; i++)
        {
            victim.Push(i);
        }

        int moved = victim.StealHalf(mine);
        Assert.That(moved, Is.EqualTo(expectedMoved));
        Assert.That(mine.Count, Is.EqualTo(expectedMoved));
        Assert.That(victim.Count, Is.EqualTo(items - expectedMoved));
        for (int i = expectedMoved - 1; i >= 0; i--)
        {
            Assert.That(mine.TryPop(out int item), Is.True);
            Assert.That(item, Is.EqualTo(i), "moved items lost their order");
        }

        for (int i = expectedMoved; i < items; i++)
        {
            Assert.That(victim.TrySteal(out int item), Is.True);
            Assert.That(item, Is.EqualTo(i));
        }
    }

    [Test]
    public void TakenItems_AreClearedFromTheBuffer_ByTheOwnersNextOperation()
    {
        var d = new WorkStealingDeque<object>(8);
        for (int i = 0; i < 6; i++)
        {
            d.Push(new object());
        }

        d.TryPop(out _);
        Assert.That(d.HoldsStaleReference(), Is.False, "pop left its item in the buffer");
        d.TrySteal(out _);
        d.TrySteal(out _);
        Assert.That(d.HoldsStaleReference(), Is.True, "precondition: stolen slots are cleared by the owner, not the thief");
        d.Push(new object());
        Assert.That(d.HoldsStaleReference(), Is.False, "push did not clear stolen slots");
        d.TrySteal(out _);
        d.TryPop(out _);
        Assert.That(d.HoldsStaleReference(), Is.False, "pop did not clear stolen slots");
        while (d.TrySteal(out _))
        {
        }

        d.TryPop(out _);
        Assert.That(d.HoldsStaleReference(), Is.False, "a pop on an emptied deque did not clear stolen slots");
    }

    [Test]
    public void StolenItem_IsCollectable_AfterTheOwnersNextPush()
    {
        var d = new WorkStealingDeque<object>(4);
        WeakReference weak = PushAndSteal(d);
        d.Push(new object());
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.That(weak.IsAlive, Is.False, "the deque kept a stolen item alive after the owner's next push");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference PushAndSteal(WorkStealingDeque<object> d)
    {
        var item = new object();
        d.Push(item);
        d.TrySteal(out _);
        return new WeakReference(item);
    }
}

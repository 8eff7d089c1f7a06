namespace Unjucks.LockFree.Tests;

/// <summary>
/// One owner pushes and pops while 1..16 thieves TrySteal and StealHalf into their own deques (and pop them
/// out, and steal from each other): every item is taken exactly once. Initial capacity 2 forces growth while
/// thieves are stealing.
/// </summary>
public class DequeStressTests
{
    private const int Repeats = 10;
    private const int Items = 30_000;

    [Test]
    [Repeat(Repeats)]
    public void OwnerPushPop_ThievesStealAndStealHalf([Values(1, 2, 4, 8, 16)] int thieves)
    {
        Run(thieves, 0);
    }

    [Test]
    [Repeat(Repeats)]
    public void NearlyEmpty_OwnerPopsAsOftenAsItPushes([Values(1, 4, 16)] int thieves)
    {
        // The owner pops after half of its pushes, so the deque mostly holds 0 to 2 items and the owner and
        // the thieves keep racing for the last item (the CAS path of TryPop).
        Run(thieves, 0, popOneIn: 2);
    }

    [Test]
    [Repeat(Repeats)]
    public void AcrossCounterBoundaries([Values(int.MaxValue - 5L, uint.MaxValue - 5L, long.MaxValue - 5)] long start)
    {
        Run(4, start);
    }

    private static void Run(int thieves, long start, int popOneIn = 4)
    {
        var owner = new WorkStealingDeque<int>(2, start);
        var own = new WorkStealingDeque<int>[thieves];
        for (int i = 0; i < thieves; i++)
        {
            own[i] = new WorkStealingDeque<int>(2, start);
        }

        var counts = new int[Items];
        long taken = 0;
        long stolenByThieves = 0;

        void Take(int item)
        {
            if ((uint)item >= Items)
            {
                throw new InvalidOperationException($"taken item {item} was never pushed");
            }

            Interlocked.Increment(ref counts[item]);
            Interlocked.Increment(ref taken);
        }

        var bodies = new List<Action>
        {
            () =>
            {
                var random = new Random(1);
                for (int i = 0; i < Items; i++)
                {
                    owner.Push(i);
                    if (random.Next(popOneIn) == 0 && owner.TryPop(out int popped))
                    {
                        Take(popped);
                    }
                }

                while (owner.TryPop(out int rest))
                {
                    Take(rest);
                }
            },
        };

        for (int t = 0; t < thieves; t++)
        {
            int me = t;
            bodies.Add(() =>
            {
                var random = new Random(100 + me);
                var spin = new SpinWait();
                WorkStealingDeque<int> mine = own[me];
                while (Volatile.Read(ref taken) < Items)
                {
                    bool progressed = false;
                    WorkStealingDeque<int> victim = random.Next(3) == 0 && thieves > 1 ? own[random.Next(thieves)] : owner;
                    if (victim != mine)
                    {
                        if (random.Next(2) == 0)
                        {
                            if (victim.TrySteal(out int item))
                            {
                                Interlocked.Increment(ref stolenByThieves);
                                Take(item);
                                progressed = true;
                            }
                        }
                        else
                        {
                            int moved = victim.StealHalf(mine);
                            Interlocked.Add(ref stolenByThieves, moved);
                            progressed = moved > 0;
                        }
                    }

                    // Pop some of our own (newest first), leaving some for other thieves to steal.
                    int keep = random.Next(3);
                    while (mine.Count > keep && mine.TryPop(out int own))
                    {
                        Take(own);
                        progressed = true;
                    }

                    if (progressed)
                    {
                        spin.Reset();
                    }
                    else
                    {
                        // Nothing to do here: drain what is left of ours, then back off.
                        while (mine.TryPop(out int own))
                        {
                            Take(own);
                        }

                        spin.SpinOnce(sleep1Threshold: -1);
                    }
                }
            });
        }

        Concurrent.Run($"owner + {thieves} thieves", [.. bodies]);

        for (int i = 0; i < Items; i++)
        {
            Assert.That(counts[i], Is.EqualTo(1), $"item {i} was taken {counts[i]} times");
        }

        Assert.That(Interlocked.Read(ref taken), Is.EqualTo(Items), "items taken != items pushed");
        Assert.That(owner.Count, Is.Zero);
        Assert.That(own.Sum(d => d.Count), Is.Zero, "a thief's deque still holds items");
        TestContext.Out.WriteLine($"{thieves} thieves stole {stolenByThieves} of {Items} items");
    }
}

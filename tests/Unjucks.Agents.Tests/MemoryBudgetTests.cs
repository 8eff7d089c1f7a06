namespace Unjucks.Agents.Tests;

public class MemoryBudgetTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    [Test]
    [Repeat(5)]
    public async Task SixteenReservers_NeverOverCommit_AndAllBytesComeBack()
    {
        const long capacity = 1000;
        var budget = new MemoryBudget(capacity);
        long inUse = 0, maxInUse = 0;
        int grants = 0;
        var reservers = Enumerable.Range(0, 16).Select(r => Task.Run(async () =>
        {
            var rng = new Random(r * 7919 + TestContext.CurrentContext.Random.Next());
            for (int i = 0; i < 50; i++)
            {
                long bytes = rng.Next(1, (int)capacity / 2);
                await using var lease = await budget.ReserveAsync(bytes);
                long now = Interlocked.Add(ref inUse, bytes);
                long seen;
                while ((seen = Volatile.Read(ref maxInUse)) < now && Interlocked.CompareExchange(ref maxInUse, now, seen) != seen)
                {
                }

                Interlocked.Increment(ref grants);
                if (i % 3 == 0)
                {
                    await Task.Yield();
                }

                Interlocked.Add(ref inUse, -bytes);
            }
        })).ToArray();
        await Task.WhenAll(reservers).WaitAsync(HangGuard);
        Assert.That(grants, Is.EqualTo(16 * 50));
        Assert.That(maxInUse, Is.LessThanOrEqualTo(capacity), $"over-committed: {maxInUse} > {capacity}");
        Assert.That(budget.PeakInUse, Is.LessThanOrEqualTo(capacity));
        Assert.That(budget.InUse, Is.Zero);
        Assert.That(budget.WaiterCount, Is.Zero);
    }

    [Test]
    [Repeat(5)]
    public async Task SixteenReservers_AreServedInArrivalOrder()
    {
        // Every request takes the whole budget, so holders are serialized; each holder appends its ticket
        // (its arrival order) while it holds the budget. FIFO means the tickets come out strictly increasing.
        var budget = new MemoryBudget(64);
        var order = new List<long>();
        var reservers = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < 20; i++)
            {
                using var lease = await budget.ReserveAsync(64);
                order.Add(lease.Ticket); // exclusive: only one lease of 64 can exist at a time
                await Task.Yield();
            }
        })).ToArray();
        await Task.WhenAll(reservers).WaitAsync(HangGuard);
        Assert.That(order, Has.Count.EqualTo(320));
        for (int i = 1; i < order.Count; i++)
        {
            Assert.That(order[i], Is.GreaterThan(order[i - 1]), $"grant {i}: ticket {order[i]} after {order[i - 1]}");
        }
    }

    [Test]
    public async Task LargeHeadRequest_BlocksLaterSmallOnes()
    {
        var budget = new MemoryBudget(100);
        var all = await budget.ReserveAsync(100);
        var w1 = budget.ReserveAsync(60).AsTask();
        var w2 = budget.ReserveAsync(10).AsTask();
        var w3 = budget.ReserveAsync(50).AsTask();
        var w4 = budget.ReserveAsync(10).AsTask();
        Assert.That(budget.WaiterCount, Is.EqualTo(4));
        Assert.That(budget.TryReserve(1, out _), Is.False, "TryReserve must not jump the queue");
        all.Dispose();
        var l1 = await w1.WaitAsync(HangGuard);
        var l2 = await w2.WaitAsync(HangGuard);
        Assert.That(budget.InUse, Is.EqualTo(70));
        Assert.That(w3.IsCompleted, Is.False);
        Assert.That(w4.IsCompleted, Is.False, "a small request overtook the larger one at the head");
        l1.Dispose();
        var l3 = await w3.WaitAsync(HangGuard);
        var l4 = await w4.WaitAsync(HangGuard);
        Assert.That(budget.InUse, Is.EqualTo(70));
        l2.Dispose();
        l2.Dispose(); // idempotent
        l3.Dispose();
        await l4.DisposeAsync();
        Assert.That(budget.InUse, Is.Zero);
        Assert.That(l2.IsReleased, Is.True);
    }

    [Test]
    public async Task CanceledWaiter_LeavesWithoutBytes_AndUnblocksThoseBehind()
    {
        var budget = new MemoryBudget(100);
        var held = await budget.ReserveAsync(50);
        using var cts = new CancellationTokenSource();
        var big = budget.ReserveAsync(80, cts.Token).AsTask();
        var small = budget.ReserveAsync(30).AsTask();
        Assert.That(small.IsCompleted, Is.False);
        await cts.CancelAsync();
        await Assert.CatchAsync<OperationCanceledException>(async () => await big);
        var s = await small.WaitAsync(HangGuard);
        Assert.That(budget.InUse, Is.EqualTo(80));
        s.Dispose();
        held.Dispose();
        Assert.That(budget.InUse, Is.Zero);
        Assert.That(budget.WaiterCount, Is.Zero);
    }

    [Test]
    [Repeat(5)]
    public async Task CancellationRacingGrants_NeverLeaksBytes()
    {
        var budget = new MemoryBudget(10);
        var tasks = new List<Task>();
        for (int i = 0; i < 200; i++)
        {
            using var cts = new CancellationTokenSource();
            var t = budget.ReserveAsync(7, cts.Token).AsTask();
            tasks.Add(t.ContinueWith(r => { if (r.IsCompletedSuccessfully) { r.Result.Dispose(); } }, TaskScheduler.Default));
            if (i % 2 == 0)
            {
                cts.Cancel();
            }
        }

        await Task.WhenAll(tasks).WaitAsync(HangGuard);
        Assert.That(budget.InUse, Is.Zero);
        Assert.That(budget.WaiterCount, Is.Zero);
    }

    [Test]
    public void TooLargeOrNegative_FailsAtOnce()
    {
        var budget = new MemoryBudget(1024);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => budget.ReserveAsync(1025))!;
        Assert.That(ex.Message, Does.Contain("1025").And.Contain("1024"));
        Assert.Throws<ArgumentOutOfRangeException>(() => budget.ReserveAsync(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MemoryBudget(0));
        Assert.That(new MemoryBudget().Capacity, Is.EqualTo(128L * 1024 * 1024));
    }

    [Test]
    public async Task Pressure_ReflectsBudgetUse()
    {
        var budget = new MemoryBudget(1000);
        await using var lease = await budget.ReserveAsync(250);
        var p = budget.GetPressure();
        Assert.That(p.Budget, Is.EqualTo(0.25).Within(1e-9));
        Assert.That(p.Gc, Is.InRange(0.0, 1.0));
        Assert.That(p.Combined, Is.GreaterThanOrEqualTo(0.25));
    }
}

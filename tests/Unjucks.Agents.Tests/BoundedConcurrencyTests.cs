namespace Unjucks.Agents.Tests;

public class BoundedConcurrencyTests
{
    [Test]
    [Repeat(3)]
    public async Task ForEachAsync_NeverExceedsLimit_AndReturnsEveryItemInOrder()
    {
        int running = 0, max = 0;
        var items = Enumerable.Range(0, 200).ToArray();
        var results = await BoundedConcurrency.ForEachAsync(items, 3, async (x, ct) =>
        {
            int now = Interlocked.Increment(ref running);
            int seen;
            while ((seen = Volatile.Read(ref max)) < now && Interlocked.CompareExchange(ref max, now, seen) != seen)
            {
            }

            await Task.Yield();
            Interlocked.Decrement(ref running);
            if (x == 13)
            {
                throw new InvalidOperationException("thirteen");
            }

            return x * 2;
        });
        Assert.That(max, Is.InRange(1, 3));
        Assert.That(results, Has.Count.EqualTo(200));
        for (int i = 0; i < 200; i++)
        {
            Assert.That(results[i].Index, Is.EqualTo(i));
            Assert.That(results[i].Item, Is.EqualTo(i));
            if (i == 13)
            {
                Assert.That(results[i].Succeeded, Is.False);
                Assert.That(results[i].Error, Is.TypeOf<InvalidOperationException>());
            }
            else
            {
                Assert.That(results[i].Result, Is.EqualTo(i * 2));
            }
        }
    }

    [Test]
    public async Task ForEachAsync_BadLimit_Throws()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => BoundedConcurrency.ForEachAsync(new[] { 1 }, 0, (x, _) => ValueTask.FromResult(x)));
    }

    [Test]
    public async Task ForEachAsync_Cancellation_Throws()
    {
        using var cts = new CancellationTokenSource();
        await Assert.CatchAsync<OperationCanceledException>(() => BoundedConcurrency.ForEachAsync(Enumerable.Range(0, 100), 2, async (x, ct) =>
        {
            if (x == 5)
            {
                await cts.CancelAsync();
            }

            await Task.Delay(1, ct);
            return x;
        }, cts.Token));
    }

    [Test]
    public async Task Gate_LeaseReleasesOnce()
    {
        using var gate = new ConcurrencyGate(2);
        var a = await gate.AcquireAsync();
        var b = await gate.AcquireAsync();
        Assert.That(gate.Available, Is.Zero);
        var pending = gate.AcquireAsync().AsTask();
        Assert.That(pending.IsCompleted, Is.False);
        a.Dispose();
        a.Dispose();
        var c = await pending.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(gate.Available, Is.Zero, "double dispose must not release twice");
        b.Dispose();
        c.Dispose();
        Assert.That(gate.Available, Is.EqualTo(2));
    }
}

namespace Unjucks.SharedMemory.Tests;

public class LockTests : RegionTestBase
{
    [Test]
    public void Acquire_release_try_acquire_and_recursion()
    {
        string name = NewName();
        SharedRegion a = Region(name);
        SharedRegion b = Region(name); // another agent (as another process would be)
        SharedLock lockA = a.Lock("l");
        using (SharedLockHandle handle = lockA.Acquire(TimeSpan.FromSeconds(5)))
        {
            Assert.That(handle.PreviousOwnerDied, Is.False);
            Assert.That(lockA.IsHeld, Is.True);
            Assert.That(b.Lock("l").TryAcquire(out SharedLockHandle? other), Is.False);
            Assert.That(other, Is.Null);
            var recursion = Assert.Throws<LockRecursionException>(() => lockA.Acquire(TimeSpan.FromSeconds(1)))!;
            Assert.That(recursion.Message, Does.Contain("not re-entrant"));
            Assert.Throws<LockRecursionException>(() => lockA.TryAcquire(out _));
            var timeout = Assert.Throws<TimeoutException>(() => b.Lock("l").Acquire(TimeSpan.FromMilliseconds(50)))!;
            Assert.That(timeout.Message, Does.Contain("'l'").And.Contain($"pid {Environment.ProcessId}"));
            using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
            Assert.Throws<OperationCanceledException>(() => b.Lock("l").Acquire(TimeSpan.FromSeconds(30), cancel.Token));
        }

        Assert.That(lockA.IsHeld, Is.False);
        Assert.That(b.Lock("l").TryAcquire(out SharedLockHandle? taken), Is.True);
        taken!.Dispose();
        taken.Dispose(); // a second Dispose does nothing
        Assert.That(lockA.IsHeld, Is.False);
    }

    [Test]
    public void Lock_held_by_a_disposed_region_is_abandoned_to_the_next_acquirer()
    {
        string name = NewName();
        SharedRegion survivor = Region(name);
        SharedRegion leaver = SharedRegion.Open(name, Options);
        _ = leaver.Lock("l").Acquire(TimeSpan.FromSeconds(5));
        leaver.Dispose();
        using SharedLockHandle handle = survivor.Lock("l").Acquire(TimeSpan.FromSeconds(30));
        Assert.That(handle.PreviousOwnerDied, Is.True);
    }

    [Test]
    public void Too_many_locks_throws_SharedRegionFullException()
    {
        SharedRegion region = Region();
        for (int i = 0; i < 8; i++)
        {
            region.Lock("l" + i);
        }

        Assert.That(Assert.Throws<SharedRegionFullException>(() => region.Lock("l8"))!.Message, Does.Contain("MaxLocks"));
    }

    [Test, Repeat(5)]
    public void Lock_gives_mutual_exclusion_between_agents_and_threads()
    {
        string name = NewName();
        SharedRegion[] agents = [Region(name), Region(name)];
        const int threads = 4;
        const int iterations = 500;
        long unprotected = 0;
        int inside = 0;
        int overlaps = 0;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            SharedLock sharedLock = agents[t % 2].Lock("counter");
            for (int i = 0; i < iterations; i++)
            {
                using SharedLockHandle handle = sharedLock.Acquire(TimeSpan.FromSeconds(60));
                if (Interlocked.Increment(ref inside) != 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                long value = Volatile.Read(ref unprotected);
                Thread.SpinWait(20);
                Volatile.Write(ref unprotected, value + 1);
                Interlocked.Decrement(ref inside);
            }
        });

        Assert.That(overlaps, Is.Zero);
        Assert.That(unprotected, Is.EqualTo(threads * iterations));
    }
}

using System.Collections.Concurrent;

namespace Unjucks.Agents.Tests;

public class WorkStealingSchedulerTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    [ThreadStatic]
    private static int t_marker;

    private static WorkStealingScheduler Create(int workers, bool leastLoaded)
        => new(workers, leastLoaded ? SchedulerInjection.LeastLoaded : SchedulerInjection.GlobalQueue);

    [Test]
    [Repeat(3)]
    public void EveryItemRunsExactlyOnce_IncludingSpawnedItems([Values(1, 2, 3, 4, 8, 16)] int workers, [Values] bool leastLoaded)
    {
        // Roots are submitted from two outside threads at once; each root spawns a binary tree of depth 5
        // from inside the workers. Every item has an id and a run counter.
        const int roots = 64, depth = 5;
        const int perRoot = (1 << (depth + 1)) - 1;
        const int total = roots * perRoot;
        var runs = new int[total];
        using var done = new CountdownEvent(total);
        using var scheduler = Create(workers, leastLoaded);

        void Node(int root, int index, int level)
        {
            Interlocked.Increment(ref runs[root * perRoot + index]);
            if (level < depth)
            {
                scheduler.Schedule(() => Node(root, 2 * index + 1, level + 1));
                scheduler.Schedule(() => Node(root, 2 * index + 2, level + 1));
            }

            done.Signal();
        }

        var submitters = Enumerable.Range(0, 2).Select(s => Task.Run(() =>
        {
            for (int r = s; r < roots; r += 2)
            {
                int root = r;
                scheduler.Schedule(() => Node(root, 0, 0));
            }
        })).ToArray();
        Task.WaitAll(submitters);
        Assert.That(done.Wait(HangGuard), Is.True, $"only {total - done.CurrentCount} of {total} items ran");
        var wrong = Enumerable.Range(0, total).Where(i => runs[i] != 1).Take(5).Select(i => $"item {i} ran {runs[i]} times").ToList();
        Assert.That(wrong, Is.Empty);
        // An item signals `done` before its worker bumps Executed; Dispose joins the workers, so every
        // increment has happened (and is visible: Thread.Join) before the counters are read.
        scheduler.Dispose();
        var stats = scheduler.GetStatistics();
        Assert.That(stats, Has.Count.EqualTo(workers));
        Assert.That(stats.Sum(s => s.Executed), Is.EqualTo(total), "executed counters");
    }

    [Test]
    [Repeat(5)]
    public void SkewedLoad_IsStolen()
    {
        // One item pushes 64 items onto its own worker's deque and then blocks until they have all run.
        // Its worker cannot run them, so the run completes only if the other workers steal them.
        const int items = 64;
        using var scheduler = new WorkStealingScheduler(4);
        using var allDone = new CountdownEvent(items);
        int producerWorker = -1;
        var ranOn = new ConcurrentBag<int>();
        var producerFinished = new ManualResetEventSlim();
        scheduler.Schedule(() =>
        {
            producerWorker = scheduler.CurrentWorkerIndex;
            for (int i = 0; i < items; i++)
            {
                scheduler.Schedule(() =>
                {
                    ranOn.Add(scheduler.CurrentWorkerIndex);
                    Thread.Sleep(1);
                    allDone.Signal();
                });
            }

            allDone.Wait(HangGuard);
            producerFinished.Set();
        });
        Assert.That(producerFinished.Wait(HangGuard), Is.True, "producer never finished");
        Assert.That(allDone.CurrentCount, Is.Zero);
        Assert.That(ranOn, Has.Count.EqualTo(items));
        Assert.That(ranOn, Has.None.EqualTo(producerWorker), "the blocked producer's worker ran an item");
        scheduler.Dispose(); // join the workers so that every counter update is visible
        var stats = scheduler.GetStatistics();
        long stolen = stats.Sum(s => s.Stolen), attempts = stats.Sum(s => s.StealAttempts);
        Assert.That(stolen, Is.GreaterThanOrEqualTo(items), $"stolen={stolen}");
        Assert.That(attempts, Is.GreaterThan(0));
        Assert.That(stats[producerWorker].Stolen, Is.Zero);
    }

    [Test]
    [Repeat(3)]
    public async Task AwaitContinuations_ResumeOnTheScheduler()
    {
        using var scheduler = new WorkStealingScheduler(2);
        var observations = new ConcurrentQueue<string>();

        async Task<int> Body()
        {
            t_marker = 1;
            for (int i = 0; i < 10; i++)
            {
                if (i % 2 == 0)
                {
                    await Task.Delay(1);
                }
                else
                {
                    await Task.Yield();
                }

                if (!scheduler.IsCurrentThreadWorker || TaskScheduler.Current != scheduler.TaskScheduler)
                {
                    observations.Enqueue($"step {i}: worker={scheduler.IsCurrentThreadWorker}, scheduler={TaskScheduler.Current}");
                }
            }

            return 42;
        }

        var tasks = Enumerable.Range(0, 20).Select(_ => Task.Factory.StartNew(Body, CancellationToken.None,
            TaskCreationOptions.DenyChildAttach, scheduler.TaskScheduler).Unwrap()).ToArray();
        var results = await Task.WhenAll(tasks).WaitAsync(HangGuard);
        Assert.That(results, Is.All.EqualTo(42));
        Assert.That(observations, Is.Empty, () => string.Join("; ", observations.Take(3)));
        Assert.That(t_marker, Is.Zero, "the test thread is not a worker");
    }

    [Test]
    public void ActionExceptions_AreReportedAndDoNotKillWorkers()
    {
        using var scheduler = new WorkStealingScheduler(2);
        var seen = new ConcurrentQueue<Exception>();
        scheduler.UnhandledException += (_, e) => seen.Enqueue(e.Exception);
        scheduler.UnhandledException += (_, _) => throw new InvalidOperationException("a bad handler");
        using var done = new CountdownEvent(100);
        for (int i = 0; i < 100; i++)
        {
            int id = i;
            scheduler.Schedule(() =>
            {
                done.Signal();
                if (id % 10 == 0)
                {
                    throw new FormatException($"item {id}");
                }
            });
        }

        Assert.That(done.Wait(HangGuard), Is.True);
        // The last throwing item may still be inside its handler: wait for the counter, with a hang guard.
        SpinWait.SpinUntil(() => scheduler.UnhandledExceptionCount == 10, HangGuard);
        Assert.That(scheduler.UnhandledExceptionCount, Is.EqualTo(10));
        Assert.That(seen.Count, Is.EqualTo(10));
        Assert.That(seen, Is.All.TypeOf<FormatException>());
        using var after = new ManualResetEventSlim();
        scheduler.Schedule(after.Set);
        Assert.That(after.Wait(HangGuard), Is.True, "workers stopped after exceptions");
    }

    [Test]
    public void TaskExceptions_ReachTheTask()
    {
        using var scheduler = new WorkStealingScheduler(2);
        var task = Task.Factory.StartNew(() => throw new FormatException("boom"), CancellationToken.None,
            TaskCreationOptions.None, scheduler.TaskScheduler);
        var ex = Assert.Throws<AggregateException>(() => task.Wait(HangGuard))!;
        Assert.That(ex.InnerException, Is.TypeOf<FormatException>());
        Assert.That(scheduler.UnhandledExceptionCount, Is.Zero);
    }

    [Test]
    [Repeat(5)]
    public void Dispose_DrainsQueuedAndSpawnedWork([Values] bool leastLoaded)
    {
        const int outside = 500;
        int ran = 0;
        var scheduler = Create(3, leastLoaded);
        for (int i = 0; i < outside; i++)
        {
            scheduler.Schedule(() =>
            {
                Interlocked.Increment(ref ran);
                scheduler.Schedule(() => Interlocked.Increment(ref ran)); // spawned during the drain: still runs
            });
        }

        scheduler.Dispose();
        Assert.That(Volatile.Read(ref ran), Is.EqualTo(2 * outside));
        Assert.That(scheduler.GetStatistics().Sum(s => s.Executed), Is.EqualTo(2 * outside));
        Assert.Throws<ObjectDisposedException>(() => scheduler.Schedule(() => { }));
        scheduler.Dispose(); // idempotent
    }

    [Test]
    public void TaskQueuedAfterDispose_RunsOnThreadPool()
    {
        var scheduler = new WorkStealingScheduler(1);
        scheduler.Dispose();
        var task = Task.Factory.StartNew(() => 7, CancellationToken.None, TaskCreationOptions.None, scheduler.TaskScheduler);
        Assert.That(task.Wait(HangGuard), Is.True);
        Assert.That(task.Result, Is.EqualTo(7));
        Assert.That(scheduler.TasksRedirectedAfterDispose, Is.EqualTo(1));
    }

    [Test]
    public void Dispose_FromAWorker_DoesNotDeadlock()
    {
        var scheduler = new WorkStealingScheduler(2);
        using var done = new ManualResetEventSlim();
        scheduler.Schedule(() =>
        {
            scheduler.Dispose();
            done.Set();
        });
        Assert.That(done.Wait(HangGuard), Is.True);
        scheduler.Dispose(); // from outside: joins the threads
    }

    [Test]
    public void IdleWorkersPark_AndWakeForNewWork()
    {
        using var scheduler = new WorkStealingScheduler(4);
        Assert.That(SpinWait.SpinUntil(() => scheduler.GetStatistics().All(s => s.Parks > 0), HangGuard), Is.True,
            "idle workers never parked");
        for (int round = 0; round < 20; round++)
        {
            using var ran = new ManualResetEventSlim();
            scheduler.Schedule(ran.Set);
            Assert.That(ran.Wait(HangGuard), Is.True, $"round {round}: parked workers were not woken");
        }
    }

    [Test]
    [Repeat(10)]
    public void DisposeRacingOutsideSubmitters_NeverLosesAnAcceptedItem([Values] bool leastLoaded)
    {
        // Every Schedule that returned normally must run; every one that threw must not.
        var scheduler = Create(2, leastLoaded);
        int accepted = 0, ran = 0, refused = 0;
        using var go = new ManualResetEventSlim();
        var submitters = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            go.Wait(HangGuard);
            for (int i = 0; i < 2000; i++)
            {
                try
                {
                    scheduler.Schedule(() => Interlocked.Increment(ref ran));
                    Interlocked.Increment(ref accepted);
                }
                catch (ObjectDisposedException)
                {
                    Interlocked.Increment(ref refused);
                    return;
                }
            }
        })).ToArray();
        go.Set();
        Thread.Sleep(1);
        scheduler.Dispose();
        Assert.That(Task.WaitAll(submitters, HangGuard), Is.True);
        Assert.That(Volatile.Read(ref ran), Is.EqualTo(Volatile.Read(ref accepted)), $"accepted {accepted}, ran {ran}, refused {refused}");
    }

    [Test]
    public void WithMetrics_EveryItemIsRecorded()
    {
        using var metrics = new AgentMetrics(3);
        using var done = new CountdownEvent(300);
        using (var scheduler = new WorkStealingScheduler(3, metrics))
        {
            for (int i = 0; i < 100; i++)
            {
                scheduler.Schedule(() =>
                {
                    scheduler.Schedule(() => done.Signal());
                    scheduler.Schedule(() => done.Signal());
                    done.Signal();
                });
            }

            Assert.That(done.Wait(HangGuard), Is.True);
        }

        // Dispose joined the workers, so every recording has happened.
        var s = metrics.GetSummary();
        Assert.That(s.Completed, Is.EqualTo(300));
        Assert.That(s.CompletedPerAgent.Sum(), Is.EqualTo(300));
        Assert.That(s.CoordinationOverhead, Is.InRange(0.0, 1.0));
        Assert.That(s.MaxQueueDepth, Is.InRange(1, 300));
        Assert.That(s.LatencyMax, Is.GreaterThanOrEqualTo(s.LatencyP50));
        Assert.Throws<ArgumentException>(() => new WorkStealingScheduler(2, metrics));
    }

    [Test]
    public void BadArguments_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new WorkStealingScheduler(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WorkStealingScheduler(513));
        using var scheduler = new WorkStealingScheduler(1);
        Assert.Throws<ArgumentNullException>(() => scheduler.Schedule(null!));
        Assert.That(scheduler.TaskScheduler.MaximumConcurrencyLevel, Is.EqualTo(1));
    }
}

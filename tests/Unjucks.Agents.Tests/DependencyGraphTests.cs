using System.Collections.Concurrent;

namespace Unjucks.Agents.Tests;

public class DependencyGraphTests
{
    [Test]
    [Repeat(3)]
    public async Task RandomDag_EveryNodeStartsAfterItsDependenciesAndGetsTheirResults([Values] bool onWorkStealingScheduler)
    {
        using var scheduler = onWorkStealingScheduler ? new WorkStealingScheduler(4) : null;
        const int n = 1000;
        var rng = new Random(TestContext.CurrentContext.Random.Next());
        var finished = new int[n];
        var deps = new List<int>[n];
        var graph = new DependencyGraph<int, long>();
        var errors = new ConcurrentQueue<string>();
        int running = 0, maxRunning = 0;
        // Add in shuffled order so that dependencies often name keys added later.
        var order = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).ToArray();
        for (int i = 0; i < n; i++)
        {
            deps[i] = new List<int>();
            int count = i == 0 ? 0 : rng.Next(0, Math.Min(i, 5) + 1);
            for (int k = 0; k < count; k++)
            {
                deps[i].Add(rng.Next(0, i)); // edges point to lower ids: acyclic
            }
        }

        // Dependencies point to lower ids, so one pass in id order computes every expected result.
        var expected = new long[n];
        for (int id = 0; id < n; id++)
        {
            long sum = id;
            foreach (int d in deps[id].Distinct())
            {
                sum += expected[d];
            }

            expected[id] = sum % 1_000_003;
        }

        long Expected(int id) => expected[id];

        foreach (int i in order)
        {
            int id = i;
            graph.Add(id, deps[id], async (ctx, ct) =>
            {
                int now = Interlocked.Increment(ref running);
                int seen;
                while ((seen = Volatile.Read(ref maxRunning)) < now && Interlocked.CompareExchange(ref maxRunning, now, seen) != seen)
                {
                }

                foreach (int d in deps[id].Distinct())
                {
                    if (Volatile.Read(ref finished[d]) != 1)
                    {
                        errors.Enqueue($"node {id} started before dependency {d} finished");
                    }

                    if (!ctx.Dependencies.TryGetValue(d, out long r) || r != Expected(d))
                    {
                        errors.Enqueue($"node {id} got wrong result for {d}");
                    }
                }

                if (ctx.Dependencies.Count != deps[id].Distinct().Count())
                {
                    errors.Enqueue($"node {id} got {ctx.Dependencies.Count} dependency results");
                }

                if (id % 7 == 0)
                {
                    await Task.Yield();
                }

                Interlocked.Decrement(ref running);
                Volatile.Write(ref finished[id], 1);
                return Expected(id);
            });
        }


        var result = await graph.RunAsync(maxConcurrency: 4, scheduler?.TaskScheduler);
        Assert.That(errors, Is.Empty, () => string.Join("; ", errors.Take(5)));
        Assert.That(result.AllSucceeded, Is.True);
        Assert.That(result.Nodes, Has.Count.EqualTo(n));
        Assert.That(finished.Sum(), Is.EqualTo(n));
        Assert.That(maxRunning, Is.LessThanOrEqualTo(4), "concurrency limit exceeded");
        for (int i = 0; i < n; i++)
        {
            Assert.That(result.Nodes[i].Result, Is.EqualTo(Expected(i)), $"node {i}");
        }
    }

    [Test]
    public async Task RandomDag_RunsOnWorkStealingScheduler()
    {
        using var scheduler = new WorkStealingScheduler(3);
        var graph = new DependencyGraph<int, int>();
        int onWorker = 0;
        for (int i = 0; i < 200; i++)
        {
            graph.Add(i, i == 0 ? [] : [i / 2], (ctx, ct) =>
            {
                if (scheduler.IsCurrentThreadWorker)
                {
                    Interlocked.Increment(ref onWorker);
                }

                return ValueTask.FromResult(ctx.Dependencies.Values.Sum() + 1);
            });
        }

        var result = await graph.RunAsync(8, scheduler.TaskScheduler);
        Assert.That(result.AllSucceeded, Is.True);
        Assert.That(onWorker, Is.EqualTo(200));
        Assert.That(result.Nodes[199].Result, Is.EqualTo(9)); // 199 -> 99 -> 49 -> 24 -> 12 -> 6 -> 3 -> 1 -> 0: nine nodes
    }

    [Test]
    public void Cycle_IsNamed_AndNothingRuns()
    {
        int ran = 0;
        var graph = new DependencyGraph<string, int>();
        ValueTask<int> Work(DependencyContext<string, int> c, CancellationToken t)
        {
            Interlocked.Increment(ref ran);
            return ValueTask.FromResult(0);
        }

        graph.Add("root", [], Work);
        graph.Add("a", ["root", "b"], Work);
        graph.Add("b", ["c"], Work);
        graph.Add("c", ["a"], Work);
        graph.Add("d", ["a"], Work);
        var ex = Assert.Throws<DependencyCycleException>(() => graph.RunAsync())!;
        Assert.That(ex.Cycle.Cast<string>().OrderBy(x => x, StringComparer.Ordinal), Is.EqualTo(new[] { "a", "b", "c" }));
        // Each node depends on the next, the last on the first.
        for (int i = 0; i < ex.Cycle.Count; i++)
        {
            string from = (string)ex.Cycle[i], to = (string)ex.Cycle[(i + 1) % ex.Cycle.Count];
            Assert.That((from, to), Is.AnyOf(("a", "b"), ("b", "c"), ("c", "a")));
        }

        Assert.That(ex.Message, Does.Contain("->"));
        Assert.That(ran, Is.Zero);
    }

    [Test]
    public void SelfCycle_IsNamed()
    {
        var graph = new DependencyGraph<string, int>();
        graph.Add("x", ["x"], (_, _) => ValueTask.FromResult(1));
        var ex = Assert.Throws<DependencyCycleException>(() => graph.RunAsync())!;
        Assert.That(ex.Cycle, Is.EqualTo(new object[] { "x" }));
    }

    [Test]
    public void MissingDependency_NamesNodeAndKey()
    {
        var graph = new DependencyGraph<string, int>();
        graph.Add("a", ["ghost"], (_, _) => ValueTask.FromResult(1));
        var ex = Assert.Throws<MissingDependencyException>(() => graph.RunAsync())!;
        Assert.That(ex.Node, Is.EqualTo("a"));
        Assert.That(ex.Missing, Is.EqualTo("ghost"));
        Assert.That(ex.Message, Does.Contain("ghost"));
    }

    [Test]
    public void DuplicateKey_Throws()
    {
        var graph = new DependencyGraph<string, int>(StringComparer.OrdinalIgnoreCase);
        graph.Add("a", [], (_, _) => ValueTask.FromResult(1));
        Assert.Throws<ArgumentException>(() => graph.Add("A", [], (_, _) => ValueTask.FromResult(1)));
        Assert.That(graph.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Failure_PropagatesToTransitiveDependents_IndependentNodesContinue()
    {
        var graph = new DependencyGraph<string, int>();
        var boom = new InvalidOperationException("boom");
        graph.Add("ok1", [], (_, _) => ValueTask.FromResult(1));
        graph.Add("bad", ["ok1"], (_, _) => throw boom);
        graph.Add("child", ["bad"], (_, _) => ValueTask.FromResult(2));
        graph.Add("grandchild", ["child", "ok1"], (_, _) => ValueTask.FromResult(3));
        graph.Add("independent", ["ok1"], async (c, _) => { await Task.Yield(); return c.Dependencies["ok1"] + 10; });
        var result = await graph.RunAsync();
        Assert.That(result.AllSucceeded, Is.False);
        Assert.That(result.Nodes["bad"].Status, Is.EqualTo(NodeStatus.Failed));
        Assert.That(result.Nodes["bad"].Error, Is.SameAs(boom));
        Assert.That(result.Nodes["child"].Status, Is.EqualTo(NodeStatus.DependencyFailed));
        Assert.That(result.Nodes["child"].Error, Is.SameAs(boom));
        Assert.That(result.Nodes["grandchild"].Status, Is.EqualTo(NodeStatus.DependencyFailed));
        Assert.That(result.Nodes["grandchild"].Error, Is.SameAs(boom));
        Assert.That(result.Nodes["independent"].Status, Is.EqualTo(NodeStatus.Succeeded));
        Assert.That(result.Nodes["independent"].Result, Is.EqualTo(11));
    }

    [Test]
    public async Task Cancellation_MarksUnstartedNodesCanceled_AndReturnsNormally()
    {
        using var cts = new CancellationTokenSource();
        var graph = new DependencyGraph<int, int>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        graph.Add(0, [], async (_, ct) =>
        {
            await cts.CancelAsync();
            await gate.Task.WaitAsync(TimeSpan.FromSeconds(30));
            return 0;
        });
        for (int i = 1; i < 50; i++)
        {
            graph.Add(i, [i - 1], (_, _) => ValueTask.FromResult(1));
        }

        var runTask = graph.RunAsync(2, null, cts.Token);
        gate.SetResult();
        var result = await runTask.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(result.Nodes[0].Status, Is.EqualTo(NodeStatus.Succeeded));
        for (int i = 1; i < 50; i++)
        {
            Assert.That(result.Nodes[i].Status, Is.EqualTo(NodeStatus.Canceled), $"node {i}");
        }
    }

    [Test]
    public async Task RunningNodeThatObservesCancellation_IsCanceled_OthersUnaffected()
    {
        using var cts = new CancellationTokenSource();
        var graph = new DependencyGraph<string, int>();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        graph.Add("done", [], (_, _) => ValueTask.FromResult(1));
        graph.Add("observer", ["done"], async (_, ct) =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return 2;
        });
        graph.Add("after", ["observer"], (_, _) => ValueTask.FromResult(3));
        var run = graph.RunAsync(2, null, cts.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await cts.CancelAsync();
        var result = await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(result.Nodes["done"].Status, Is.EqualTo(NodeStatus.Succeeded));
        Assert.That(result.Nodes["observer"].Status, Is.EqualTo(NodeStatus.Canceled));
        Assert.That(result.Nodes["observer"].Error, Is.InstanceOf<OperationCanceledException>());
        Assert.That(result.Nodes["after"].Status, Is.EqualTo(NodeStatus.Canceled));
    }

    [Test]
    public async Task AlreadyCanceledToken_RunsNothing()
    {
        var graph = new DependencyGraph<int, int>();
        int ran = 0;
        for (int i = 0; i < 10; i++)
        {
            graph.Add(i, [], (_, _) => { Interlocked.Increment(ref ran); return ValueTask.FromResult(1); });
        }

        var result = await graph.RunAsync(cancellationToken: new CancellationToken(true));
        Assert.That(ran, Is.Zero);
        Assert.That(result.Nodes.Values.Select(o => o.Status), Is.All.EqualTo(NodeStatus.Canceled));
    }

    [Test]
    public async Task EmptyGraph_Completes()
    {
        var result = await new DependencyGraph<int, int>().RunAsync();
        Assert.That(result.Nodes, Is.Empty);
        Assert.That(result.AllSucceeded, Is.True);
    }

    [Test]
    public void NegativeConcurrency_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new DependencyGraph<int, int>().RunAsync(-1));
    }

    [Test]
    public async Task NoBatchBarrier_ChainProceedsWhileSlowSiblingRuns()
    {
        // "slow" blocks until the chain a->b->c has completed: with batch barriers (level by level) b could
        // not start before slow (same level as a) finished, and this would deadlock into the hang guard.
        var graph = new DependencyGraph<string, int>();
        var chainDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        graph.Add("slow", [], async (_, _) => { await chainDone.Task.WaitAsync(TimeSpan.FromSeconds(30)); return 0; });
        graph.Add("a", [], (_, _) => ValueTask.FromResult(1));
        graph.Add("b", ["a"], (_, _) => ValueTask.FromResult(2));
        graph.Add("c", ["b"], (_, _) => { chainDone.SetResult(); return ValueTask.FromResult(3); });
        var result = await graph.RunAsync(4).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(result.AllSucceeded, Is.True);
    }
}

using System.Diagnostics;
using Unjucks.Agents.Processes;

namespace Unjucks.Agents.Tests.Processes;

/// <summary>
/// Streaming jobs on real agent processes (tests/Unjucks.AgentTestHost): tasks submitted while the job runs, each
/// awaited on its own. The host's handler returns ResultOf(id) + the sum of the payload's bytes. No test asserts a
/// duration; the [CancelAfter] values are hang guards.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class StreamingJobTests : AgentProcessTestBase
{
    /// <summary>
    /// A random DAG: a node is submitted only when all its parents' completions finished, with a payload made of its
    /// parents' results (one byte each), so its result proves which parent values it saw; completion order is checked too.
    /// </summary>
    [Test]
    [Repeat(2)]
    [CancelAfter(120_000)]
    public async Task ADependencyDagRunsEachTaskAfterItsParentsExactlyOnce(CancellationToken ct)
    {
        const int nodes = 400;
        var random = new Random(TestContext.CurrentContext.Random.Next());
        int[][] parents = [.. Enumerable.Range(0, nodes).Select(i => i == 0 ? [] : Enumerable.Range(0, random.Next(0, 4)).Select(_ => random.Next(i)).Distinct().ToArray())];

        await using var coordinator = await StartCoordinatorAsync(3, ct, workUs: 20);
        await using StreamingJob job = await coordinator.StartStreamingJobAsync(nodes, null, ct);
        var ids = new long[nodes];
        var completedAt = new long[nodes];
        var submittedAt = new long[nodes];
        long clock = 0;
        var values = new Task<long>[nodes];

        async Task<long> Node(int i, Task<long>[] parentTasks)
        {
            long[] inputs = await Task.WhenAll(parentTasks);
            submittedAt[i] = Interlocked.Increment(ref clock);
            ids[i] = job.Submit(inputs.Select(v => (byte)v).ToArray());
            long value = await job.Completion(ids[i]);
            completedAt[i] = Interlocked.Increment(ref clock);
            return value;
        }

        for (int i = 0; i < nodes; i++)
        {
            values[i] = Node(i, [.. parents[i].Select(p => values[p])]);
        }

        long[] results = await Task.WhenAll(values).WaitAsync(ct);
        JobResult result = await job.CompleteAsync();

        Assert.That(result.Results, Has.Count.EqualTo(nodes), "the job's results cover the submitted tasks");
        Assert.That(ids.Order(), Is.EqualTo(Enumerable.Range(0, nodes).Select(i => (long)i)), "ids 0..n-1, each handed out once");
        for (int i = 0; i < nodes; i++)
        {
            long expected = AgentTestHostLauncher.ResultOf(ids[i]) + parents[i].Sum(p => (long)(byte)results[p]);
            Assert.That(results[i], Is.EqualTo(expected), $"node {i} (task {ids[i]}): completion value vs its parents' results");
            Assert.That(result.Results[(int)ids[i]], Is.EqualTo(results[i]), $"node {i} (task {ids[i]}): JobResult vs Completion");
            foreach (int p in parents[i])
            {
                Assert.That(submittedAt[i], Is.GreaterThan(completedAt[p]), $"node {i} was submitted after parent {p} completed");
                Assert.That(completedAt[i], Is.GreaterThan(completedAt[p]), $"node {i} completed after parent {p}");
            }
        }

        JobSummary s = result.Summary;
        Assert.That(s.TaskCount, Is.EqualTo(nodes));
        Assert.That(s.Agents.Sum(a => a.TasksExecuted), Is.EqualTo(nodes), "each task Done exactly once");
        Assert.That(s.Agents.Sum(a => a.Commits), Is.EqualTo(nodes), "the agents' own commit counts");
        Assert.That(result.Failures, Is.Empty);
        Assert.That(await job.CompleteAsync(), Is.SameAs(result), "CompleteAsync is idempotent");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AFailingTaskFaultsItsCompletionAndSubmitAfterCompleteThrows(CancellationToken ct)
    {
        await using var coordinator = await StartCoordinatorAsync(2, ct, mode: "throw");
        Assert.That(() => coordinator.StartStreamingJobAsync(0, null, ct), Throws.InstanceOf<ArgumentOutOfRangeException>());

        StreamingJob job = await coordinator.StartStreamingJobAsync(30, null, ct);
        Assert.That(() => coordinator.RunAsync(1, null, ct), Throws.InvalidOperationException, "one job at a time");
        for (int i = 0; i < 30; i++)
        {
            Assert.That(job.Submit(ReadOnlyMemory<byte>.Empty), Is.EqualTo(i), "ids in submission order");
        }

        Assert.That(() => job.Submit(ReadOnlyMemory<byte>.Empty), Throws.InvalidOperationException.With.Message.Contains("maxTasks"));
        Assert.That(() => job.Submit(new byte[coordinator.Region.State.MaxValueBytes + 1]), Throws.ArgumentException.With.Message.Contains("MaxPayloadBytes"));
        Assert.That(() => job.Completion(30), Throws.InstanceOf<ArgumentOutOfRangeException>());

        var failure = await Assert.ThrowsAsync<TaskFailedException>(async () => await job.Completion(13).WaitAsync(ct));
        Assert.That(failure!.TaskId, Is.EqualTo(13));
        Assert.That(failure.Message, Does.Contain("boom 13").And.Contain("InvalidOperationException"));
        Assert.That(await job.Completion(12).WaitAsync(ct), Is.EqualTo(AgentTestHostLauncher.ResultOf(12)));

        JobResult result = await job.CompleteAsync().WaitAsync(ct);
        Assert.That(() => job.Submit(ReadOnlyMemory<byte>.Empty), Throws.InvalidOperationException.With.Message.Contains("CompleteAsync"));
        Assert.That(result.Failures.Keys.Order(), Is.EqualTo(new long[] { 3, 13, 23 }));
        Assert.That(result.Failures[23], Does.Contain("boom 23"));
        Assert.That(result.Summary.FailedTasks, Is.EqualTo(3));
        for (int id = 0; id < 30; id++)
        {
            long expected = id % 10 == 3 ? JobResult.FailedResult : AgentTestHostLauncher.ResultOf(id);
            Assert.That(result.Results[id], Is.EqualTo(expected), $"task {id}");
            if (id % 10 == 3)
            {
                Assert.That(job.Completion(id).IsFaulted, Is.True, $"task {id}'s completion is faulted");
            }
            else
            {
                Assert.That(await job.Completion(id), Is.EqualTo(expected), $"task {id}'s completion");
            }
        }

        await job.DisposeAsync();

        // The coordinator runs the next job (streaming or not).
        JobResult next = await coordinator.RunAsync(20, null, ct);
        Assert.That(next.Failures.Keys.Order(), Is.EqualTo(new long[] { 3, 13 }), "the next (batch) job runs on the same agents");
        Assert.That(next.Results[19], Is.EqualTo(AgentTestHostLauncher.ResultOf(19)));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task DisposingWithoutCompleteCancelsOutstandingTasks(CancellationToken ct)
    {
        await using var coordinator = await StartCoordinatorAsync(1, ct, workUs: 2000);
        StreamingJob job = await coordinator.StartStreamingJobAsync(1000, null, ct);
        for (int i = 0; i < 1000; i++)
        {
            job.Submit(new byte[] { 1, 2 });
        }

        await job.DisposeAsync();
        Assert.That(job.Completion(999).IsCanceled, Is.True, "an outstanding task's completion is canceled");
        Assert.That(() => job.CompleteAsync(), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(Directory.EnumerateFiles(Dir, "*.job"), Is.Empty, "the job's segment was removed");

        StreamingJob next = await coordinator.StartStreamingJobAsync(5, null, ct);
        long id = next.Submit(ReadOnlyMemory<byte>.Empty);
        Assert.That(await next.Completion(id).WaitAsync(ct), Is.EqualTo(AgentTestHostLauncher.ResultOf(0)));
        Assert.That((await next.CompleteAsync()).JobSequence, Is.EqualTo(2));
    }

    [TestCase(nameof(Placement.SharedQueue))]
    [TestCase(nameof(Placement.RoundRobin))]
    [CancelAfter(120_000)]
    public async Task OtherPlacementsStreamExactlyOnce(string placementName, CancellationToken ct)
    {
        const int tasks = 600;
        Placement placement = Enum.Parse<Placement>(placementName);
        var options = Options(2) with { Placement = placement };
        await using var coordinator = await StartCoordinatorAsync(options, ct);
        await using StreamingJob job = await coordinator.StartStreamingJobAsync(tasks, null, ct);
        var completions = new Task<long>[tasks];
        await Parallel.ForAsync(0, 4, ct, async (worker, token) =>
        {
            for (int i = 0; i < tasks / 4; i++)
            {
                long id = job.Submit(new byte[] { 3 });
                completions[id] = job.Completion(id);
                if (i % 50 == 49)
                {
                    await completions[id].WaitAsync(token);
                }
            }
        });

        long[] values = await Task.WhenAll(completions).WaitAsync(ct);
        JobResult result = await job.CompleteAsync().WaitAsync(ct);
        for (int id = 0; id < tasks; id++)
        {
            Assert.That(values[id], Is.EqualTo(AgentTestHostLauncher.ResultOf(id) + 3), $"task {id}'s completion");
            Assert.That(result.Results[id], Is.EqualTo(values[id]), $"task {id}'s result");
        }

        Assert.That(result.Summary.Agents.Sum(a => a.TasksExecuted), Is.EqualTo(tasks), "each task Done exactly once");
    }

    /// <summary>Payload keys are per task id and removed after use, so many jobs fit in a small state table.</summary>
    [Test]
    [CancelAfter(120_000)]
    public async Task ManyJobsWithPayloadsDoNotFillASmallStateTable(CancellationToken ct)
    {
        var options = Options(2) with { StateSlots = 128 };
        await using var coordinator = await StartCoordinatorAsync(options, ct);
        for (int round = 0; round < 5; round++)
        {
            await using StreamingJob job = await coordinator.StartStreamingJobAsync(60, null, ct);
            for (int i = 0; i < 60; i++)
            {
                job.Submit(new byte[] { (byte)round, 1 });
            }

            JobResult streamed = await job.CompleteAsync().WaitAsync(ct);
            for (int id = 0; id < 60; id++)
            {
                Assert.That(streamed.Results[id], Is.EqualTo(AgentTestHostLauncher.ResultOf(id) + round + 1), $"round {round}, streamed task {id}");
            }

            var payloads = Enumerable.Range(0, 60).Select(i => (ReadOnlyMemory<byte>)new byte[] { (byte)(round + 10) }).ToArray();
            JobResult batch = await coordinator.RunAsync(payloads, null, ct);
            for (int id = 0; id < 60; id++)
            {
                Assert.That(batch.Results[id], Is.EqualTo(AgentTestHostLauncher.ResultOf(id) + round + 10), $"round {round}, batch task {id}");
            }
        }
    }

    /// <summary>An agent is SIGKILLed while tasks are still being submitted; every submitted task completes exactly once.</summary>
    [Test]
    [Repeat(2)]
    [CancelAfter(120_000)]
    public async Task SigkillMidStreamStillCompletesEverySubmittedTaskExactlyOnce(CancellationToken ct)
    {
        const int tasks = 3000;
        await using var coordinator = await StartCoordinatorAsync(3, ct, workUs: 100);
        int victim = Random.Shared.Next(3);
        int killAt = Random.Shared.Next(tasks / 10, tasks / 2);
        await using StreamingJob job = await coordinator.StartStreamingJobAsync(tasks, null, ct);
        var completions = new List<Task<long>>();
        int completed = 0;
        bool killed = false;
        for (int i = 0; i < tasks; i++)
        {
            long id = job.Submit(ReadOnlyMemory<byte>.Empty);
            Task<long> c = job.Completion(id);
            _ = c.ContinueWith(_ => Interlocked.Increment(ref completed), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            completions.Add(c);
            if (i % 100 == 99)
            {
                // Keep the stream going: wait until the earliest tasks of this wave are done before submitting more.
                await completions[i - 50].WaitAsync(ct);
            }

            if (!killed && Volatile.Read(ref completed) >= killAt)
            {
                using var process = Process.GetProcessById(coordinator.Agents[victim].Pid);
                process.Kill(); // SIGKILL.
                await process.WaitForExitAsync(ct);
                killed = true;
            }
        }

        long[] values = await Task.WhenAll(completions).WaitAsync(ct);
        JobResult result = await job.CompleteAsync();

        Assert.That(killed, Is.True, $"the agent was killed (kill point {killAt})");
        for (int id = 0; id < tasks; id++)
        {
            Assert.That(values[id], Is.EqualTo(AgentTestHostLauncher.ResultOf(id)), $"task {id}'s completion");
        }

        JobCoordinatorTests.AssertEveryResult(result, tasks);
        JobSummary s = result.Summary;
        Assert.That(s.AgentDeaths, Is.EqualTo(1), "the SIGKILLed agent was found dead");
        Assert.That(s.Agents[victim].Alive, Is.False);
        Assert.That(s.Agents.Sum(a => a.TasksExecuted), Is.EqualTo(tasks), "each task Done exactly once");
        foreach (AgentJobStats a in s.Agents.Where(a => a.Alive))
        {
            Assert.That(a.Commits, Is.EqualTo(a.TasksExecuted), $"surviving agent {a.Index}: own commits vs Done records");
        }
    }
}

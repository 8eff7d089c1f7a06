using System.Collections.Concurrent;
using Unjucks.SharedMemory.Jobs;

namespace Unjucks.SharedMemory.Tests.Jobs;

[TestFixture]
public unsafe class SharedTaskTableTests
{
    [Test]
    public void Layout_is_pinned()
    {
        Assert.Multiple(() =>
        {
            Assert.That(TaskTableLayout.RecordsOffset, Is.EqualTo(128));
            Assert.That(TaskTableLayout.RecordBytes, Is.EqualTo(128));
            Assert.That(TaskTableLayout.RecordUsedBytes, Is.LessThanOrEqualTo(TaskTableLayout.RecordBytes));
            Assert.That(TaskTableLayout.ResultOffset, Is.EqualTo(40));
            Assert.That(TaskTableLayout.SizeOf(10), Is.EqualTo(128 + 1280));
        });
    }

    [TestCase(TaskState.Done, 0, 0L)]
    [TestCase(TaskState.Leased, TaskStateWord.MaxAgent, TaskStateWord.MaxEpoch)]
    [TestCase(TaskState.Queued, TaskStateWord.NoAgent, 1L << 40)]
    [TestCase(TaskState.Committing, 513, 3L)]
    public void State_word_round_trips(TaskState state, int agent, long epoch)
    {
        var w = new TaskStateWord(state, agent, epoch);
        Assert.That(TaskStateWord.Unpack(w.Pack()), Is.EqualTo(w));
    }

    [Test]
    public void Single_thread_transitions()
    {
        using var block = new NativeBlock(TaskTableLayout.SizeOf(4));
        TaskTableLayout.Initialize(block.Pointer, 4);
        var table = new SharedTaskTable(block.Pointer);

        Assert.That(table.Read(0), Is.EqualTo(new TaskStateWord(TaskState.Free, 0, 0)));
        Assert.That(table.TryLease(0, 1, out _), Is.False, "a Free task cannot be leased");
        Assert.That(table.TryPlace(0, 3), Is.True);
        Assert.That(table.Read(0), Is.EqualTo(new TaskStateWord(TaskState.Queued, 3, 0)));
        Assert.That(table.TryPlace(0, 5), Is.True, "re-targeting a queued task");
        Assert.That(table.Read(0).Agent, Is.EqualTo(5));

        Assert.That(table.TryLease(0, 1, out long e1), Is.True);
        Assert.That(e1, Is.EqualTo(1));
        Assert.That(table.TryLease(0, 2, out _), Is.False, "already leased");
        Assert.That(table.TryPlace(0, 2), Is.False, "a leased task cannot be placed");
        Assert.That(table.TryCommit(0, 2, e1, 99), Is.False, "another agent cannot commit agent 1's lease");
        Assert.That(table.TryCommit(0, 1, e1 + 1, 99), Is.False, "a future epoch cannot commit");

        Assert.That(table.TryRevokeLease(0, e1), Is.True);
        Assert.That(table.Read(0), Is.EqualTo(new TaskStateWord(TaskState.Queued, TaskStateWord.NoAgent, 2)));
        Assert.That(table.TryCommit(0, 1, e1, 99), Is.False, "a revoked (stale) lease cannot commit");

        Assert.That(table.TryLease(0, 2, out long e2), Is.True);
        Assert.That(e2, Is.EqualTo(3));
        Assert.That(table.TryReadResult(0, out _), Is.False);
        Assert.That(table.TryCommit(0, 2, e2, 4242), Is.True);
        Assert.That(table.TryCommit(0, 2, e2, 1), Is.False, "Done is final");
        Assert.That(table.TryReadResult(0, out var r), Is.True);
        Assert.That((r.Value, r.Agent, r.Epoch, r.LeaseCount), Is.EqualTo((4242L, 2, 3L, 2)));
        Assert.That(r.PlacedTicks, Is.GreaterThan(0));
        Assert.That(r.PickupTicks, Is.GreaterThanOrEqualTo(r.PlacedTicks));
        Assert.That(r.CompletedTicks, Is.GreaterThanOrEqualTo(r.PickupTicks));
        Assert.That(table.TryRevokeLease(0, e2), Is.False);
        Assert.That(table.Version(0), Is.EqualTo(7), "place, re-place, lease, revoke, lease, begin commit, finish commit");
        Assert.That(table.CountDone(), Is.EqualTo(1));
    }

    [Test]
    public void Recover_requeues_a_dead_agents_leased_committing_and_queued_tasks()
    {
        using var block = new NativeBlock(TaskTableLayout.SizeOf(6));
        TaskTableLayout.Initialize(block.Pointer, 6);
        var table = new SharedTaskTable(block.Pointer);
        for (int i = 0; i < 6; i++)
        {
            Assert.That(table.TryPlace(i, i < 3 ? 7 : 8), Is.True);
        }

        Assert.That(table.TryLease(0, 7, out long e0), Is.True); // 0: Leased(7)
        Assert.That(table.TryLease(1, 7, out long e1), Is.True);
        Assert.That(table.TryBeginCommit(1, 7, e1), Is.True); // 1: Committing(7): the committer "died" here
        // 2: Queued(7)
        Assert.That(table.TryLease(3, 8, out long e3), Is.True);
        Assert.That(table.TryCommit(3, 8, e3, 33), Is.True); // 3: Done(8)
        Assert.That(table.TryLease(4, 7, out long e4), Is.True);
        Assert.That(table.TryCommit(4, 7, e4, 44), Is.True); // 4: Done(7): must stay
        // 5: Queued(8)

        var ids = new List<long>();
        Assert.That(table.Recover(7, ids), Is.EqualTo(3));
        Assert.That(ids, Is.EqualTo(new long[] { 0, 1, 2 }));
        Assert.That(table.Read(0), Is.EqualTo(new TaskStateWord(TaskState.Queued, TaskStateWord.NoAgent, e0 + 1)));
        Assert.That(table.Read(1), Is.EqualTo(new TaskStateWord(TaskState.Queued, TaskStateWord.NoAgent, e1 + 1)));
        Assert.That(table.Read(2), Is.EqualTo(new TaskStateWord(TaskState.Queued, TaskStateWord.NoAgent, 0)));
        Assert.That(table.Read(4).State, Is.EqualTo(TaskState.Done));
        Assert.That(table.TryCommit(0, 7, e0, 1), Is.False, "the dead agent's lease is void");
        Assert.That(table.Recover(7, ids), Is.EqualTo(0), "a second recovery finds nothing");

        var queued = new List<long>();
        Assert.That(table.CollectQueued(queued), Is.EqualTo(4));
        Assert.That(queued, Is.EqualTo(new long[] { 0, 1, 2, 5 }));

        // The committing task is finished by someone else, overwriting the dead committer's partial result.
        Assert.That(table.TryPlace(1, 9), Is.True);
        Assert.That(table.TryLease(1, 9, out long e1b), Is.True);
        Assert.That(table.TryCommit(1, 9, e1b, 111), Is.True);
        Assert.That(table.TryReadResult(1, out var r1), Is.True);
        Assert.That((r1.Value, r1.Agent), Is.EqualTo((111L, 9)));
    }

    [Test]
    public void Bad_ids_and_agents_are_rejected()
    {
        using var block = new NativeBlock(TaskTableLayout.SizeOf(2));
        TaskTableLayout.Initialize(block.Pointer, 2);
        var table = new SharedTaskTable(block.Pointer);
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => table.TryPlace(2, 0))!.Message, Does.Contain("0 to 1"));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.TryPlace(-1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.TryLease(0, TaskStateWord.NoAgent, out _));
        using var empty = new NativeBlock(256);
        Assert.Throws<ArgumentException>(() => _ = new SharedTaskTable(empty.Pointer));
    }

    /// <summary>
    /// 8 agents race to lease and commit the same tasks while a "reaper" revokes random leases (bumping epochs).
    /// Exactly one commit per task succeeds, it is the one the table shows, and no revoked epoch ever commits.
    /// </summary>
    [Test]
    [Repeat(5)]
    public void Racing_agents_and_revocations_commit_each_task_exactly_once()
    {
        const int tasks = 2_000;
        const int agents = 8;
        using var block = new NativeBlock(TaskTableLayout.SizeOf(tasks));
        TaskTableLayout.Initialize(block.Pointer, tasks);
        var table = new SharedTaskTable(block.Pointer);
        for (int i = 0; i < tasks; i++)
        {
            Assert.That(table.TryPlace(i, i % agents), Is.True);
        }

        var wins = new ConcurrentBag<(long Id, int Agent, long Epoch, long Result)>();
        var revoked = new ConcurrentDictionary<(long, long), bool>();
        int stop = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // hang guard.

        var reaper = new Thread(() =>
        {
            var rng = new Random(17);
            while (Volatile.Read(ref stop) == 0 && !cts.IsCancellationRequested)
            {
                long id = rng.Next(tasks);
                var w = table.Read(id);
                if (w.State == TaskState.Leased && table.TryRevokeLease(id, w.Epoch))
                {
                    revoked[(id, w.Epoch)] = true;
                    // Re-place, as a coordinator would.
                    table.TryPlace(id, rng.Next(agents));
                }
            }
        }) { IsBackground = true };

        var workers = Enumerable.Range(0, agents).Select(agent => new Thread(() =>
        {
            var rng = new Random(agent + 100);
            while (table.CountDone() < tasks && !cts.IsCancellationRequested)
            {
                long start = rng.Next(tasks);
                for (int k = 0; k < 64; k++)
                {
                    long id = (start + k) % tasks;
                    if (!table.TryLease(id, agent, out long epoch))
                    {
                        continue;
                    }

                    if (rng.Next(4) == 0)
                    {
                        Thread.Yield(); // a slow agent: the reaper may take its lease meanwhile.
                    }

                    long result = (id << 20) | ((long)agent << 12) | (epoch & 0xFFF);
                    if (table.TryCommit(id, agent, epoch, result))
                    {
                        wins.Add((id, agent, epoch, result));
                    }
                }
            }
        }) { IsBackground = true }).ToList();

        reaper.Start();
        workers.ForEach(t => t.Start());
        foreach (var t in workers)
        {
            Assert.That(t.Join(TimeSpan.FromSeconds(60)), Is.True, "an agent thread hung");
        }

        Volatile.Write(ref stop, 1);
        Assert.That(reaper.Join(TimeSpan.FromSeconds(60)), Is.True);

        var byTask = wins.GroupBy(w => w.Id).ToDictionary(g => g.Key, g => g.ToList());
        var dupes = byTask.Where(kv => kv.Value.Count != 1).Take(5).Select(kv => $"task {kv.Key}: {kv.Value.Count} commits").ToList();
        Assert.That(dupes, Is.Empty);
        Assert.That(byTask.Count, Is.EqualTo(tasks), "every task committed");
        var staleWins = wins.Where(w => revoked.ContainsKey((w.Id, w.Epoch))).Take(5).ToList();
        Assert.That(staleWins, Is.Empty, "a revoked lease committed");
        for (long id = 0; id < tasks; id++)
        {
            var win = byTask[id][0];
            Assert.That(table.TryReadResult(id, out var r), Is.True, $"task {id} not Done");
            Assert.That((r.Value, r.Agent, r.Epoch), Is.EqualTo((win.Result, win.Agent, win.Epoch)), $"task {id}: the table shows another result than the winner's");
        }

        TestContext.Out.WriteLine($"{revoked.Count} leases revoked");
    }
}

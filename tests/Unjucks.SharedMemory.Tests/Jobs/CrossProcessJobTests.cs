using System.Diagnostics;
using Unjucks.SharedMemory.Jobs;

namespace Unjucks.SharedMemory.Tests.Jobs;

/// <summary>
/// Real agent processes share one job segment: the test is the coordinator (places every task on agent 0's
/// inbox, a skewed placement, so the others must steal across processes), optionally SIGKILLs an agent and
/// recovers its tasks. Every task must end Done exactly once with the right result.
/// </summary>
[TestFixture]
[NonParallelizable]
public class CrossProcessJobTests
{
    private const int Tasks = 10_000;
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Path.Combine(Path.GetTempPath(), "unjucks-xproc-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(4)]
    public async Task Every_task_done_exactly_once_and_skew_produces_cross_process_steals(int agents)
    {
        var (reports, _) = await RunJobAsync(agents, killAtFraction: null);
        long commits = reports.Values.Sum(r => r.Commits);
        Assert.That(commits, Is.EqualTo(Tasks), "agents' own commit counts add up to the task count");
        if (agents > 1)
        {
            long stolen = reports.Where(kv => kv.Key != 0).Sum(kv => kv.Value.StolenIds);
            Assert.That(stolen, Is.GreaterThan(0), "agents 1.. only get work by stealing from agent 0");
        }
    }

    [Test]
    [Repeat(3)]
    public async Task An_agent_killed_with_SIGKILL_mid_job_loses_no_task_and_duplicates_none()
    {
        double fraction = 0.1 + (Random.Shared.NextDouble() * 0.6);
        var (reports, killed) = await RunJobAsync(4, fraction);
        TestContext.Out.WriteLine($"killed agent {killed} at {fraction:P0} done");
        Assert.That(killed, Is.Not.Null);
    }

    /// <summary>Runs a job; returns the live agents' reports and the killed agent.</summary>
    private async Task<(Dictionary<int, (long Commits, long Steals, long StolenIds)> Reports, int? Killed)> RunJobAsync(int agents, double? killAtFraction)
    {
        using var segment = JobSegment.Create(_dir, "job", agents, dequeCapacity: 1024, taskCapacity: Tasks, inboxCapacity: 512);
        var table = segment.Tasks;
        var children = new List<JobAgentProcess>();
        var live = new HashSet<int>(Enumerable.Range(0, agents));
        int? killed = null;
        try
        {
            for (int a = 0; a < agents; a++)
            {
                children.Add(await JobAgentProcess.StartAsync(_dir, "job", a));
            }

            var pending = new Queue<(long Id, int Agent)>(Enumerable.Range(0, Tasks).Select(i => ((long)i, 0))); // skew: all on agent 0.
            var hangGuard = Stopwatch.StartNew();
            int lastDone = -1;
            var lastProgress = Stopwatch.StartNew();
            int rr = 0;
            int NextLive() => live.ElementAt(rr++ % live.Count);

            while (true)
            {
                Assert.That(hangGuard.Elapsed, Is.LessThan(TimeSpan.FromMinutes(2)), $"job hung: {table.CountDone()} of {Tasks} done");

                // Place what is pending (inboxes are bounded: keep the rest for later).
                int placedNow = 0;
                while (pending.Count > 0 && placedNow < 1024)
                {
                    var (id, agent) = pending.Peek();
                    if (!live.Contains(agent))
                    {
                        agent = NextLive();
                    }

                    if (!table.TryPlace(id, agent))
                    {
                        pending.Dequeue(); // leased or done meanwhile (a duplicate from a sweep): nothing to place.
                        continue;
                    }

                    if (!segment.Inbox(agent).TryEnqueue(id))
                    {
                        break; // inbox full: retry later.
                    }

                    pending.Dequeue();
                    placedNow++;
                }

                int done = table.CountDone();
                if (done == Tasks)
                {
                    break;
                }

                if (killAtFraction is { } f && killed is null && done >= f * Tasks && agents > 1)
                {
                    int victim = 1 + Random.Shared.Next(agents - 1);
                    children[victim].Kill();
                    killed = victim;
                    live.Remove(victim);
                    // Recovery: the task table first (leases and commits in flight), then the dead agent's deque and inbox.
                    var recovered = new List<long>();
                    table.Recover(victim, recovered);
                    segment.Stealer(victim).DrainDead(recovered);
                    segment.Inbox(victim).DrainDead(recovered);
                    foreach (long id in recovered.Distinct())
                    {
                        pending.Enqueue((id, NextLive()));
                    }
                }

                if (done != lastDone)
                {
                    lastDone = done;
                    lastProgress.Restart();
                }
                else if (lastProgress.Elapsed > TimeSpan.FromSeconds(2) && pending.Count == 0)
                {
                    // Backstop sweep: ids lost in a failure window (e.g. a thief killed between its CAS and its publish).
                    var queued = new List<long>();
                    table.CollectQueued(queued);
                    TestContext.Out.WriteLine($"backstop sweep re-placed {queued.Count} queued tasks at {done} done");
                    foreach (long id in queued)
                    {
                        pending.Enqueue((id, NextLive()));
                    }

                    lastProgress.Restart();
                }

                await Task.Delay(1);
            }

            var reports = new Dictionary<int, (long Commits, long Steals, long StolenIds)>();
            foreach (var child in children.Where(c => live.Contains(c.Agent)))
            {
                reports[child.Agent] = await child.StopAsync();
            }

            // Exactly once: every task Done with the right result, and each live agent's own count of successful
            // commits equals the number of Done records naming it (no agent believes it committed a task shown as another's).
            var doneBy = new int[agents];
            var wrong = new List<string>();
            for (long id = 0; id < Tasks; id++)
            {
                if (!table.TryReadResult(id, out var r))
                {
                    wrong.Add($"task {id} is {table.Read(id)}");
                    continue;
                }

                doneBy[r.Agent]++;
                if (r.Value != (id * 31) + 7)
                {
                    wrong.Add($"task {id} result {r.Value} by agent {r.Agent}");
                }
            }

            Assert.That(wrong.Take(10), Is.Empty);
            foreach (var (agent, report) in reports)
            {
                Assert.That(report.Commits, Is.EqualTo(doneBy[agent]), $"agent {agent}: reported commits vs Done records naming it");
            }

            Assert.That(doneBy.Sum(), Is.EqualTo(Tasks));
            TestContext.Out.WriteLine(string.Join("; ", reports.Select(kv => $"agent {kv.Key}: {kv.Value.Commits} commits, {kv.Value.Steals} steals ({kv.Value.StolenIds} ids)")));
            return (reports, killed);
        }
        finally
        {
            foreach (var child in children)
            {
                child.Dispose();
            }
        }
    }
}

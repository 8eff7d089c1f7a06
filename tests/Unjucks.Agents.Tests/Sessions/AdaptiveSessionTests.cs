using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;

namespace Unjucks.Agents.Tests.Sessions;

/// <summary>The adaptive agent count (<see cref="AgentSessionOptions.Concurrency"/>) on real agent processes: the
/// session shrinks when each task costs more the more agents run, grows when it costs less, and agents beyond the count
/// take no work. Every task is counted in and out.</summary>
public class AdaptiveSessionTests : SessionTestBase
{
    /// <summary>The test agent's 'X' op: sleeps base * k^2 ('R') or 2 * base / (k + 1) ('F') ms, k = tasks running at once
    /// in any agent (a counter in a shared file).</summary>
    private static byte[] CostOp(int baseMilliseconds, char mode, string counterFile)
    {
        byte[] path = Encoding.UTF8.GetBytes(counterFile);
        var p = new byte[6 + path.Length];
        p[0] = (byte)'X';
        BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(1), baseMilliseconds);
        p[5] = (byte)mode;
        path.CopyTo(p, 6);
        return p;
    }

    private static AgentConcurrency FourAgentsStartingAtTwo => new()
    {
        MinAgents = 1,
        MaxAgents = 4,
        InitialAgents = 2,
        Window = TimeSpan.FromMilliseconds(200),
        MinCompletionsPerWindow = 4,
    };

    [TestCase('R', 2, 1, TestName = "Shrinks to one agent when the cost per task rises with the agents running")]
    [TestCase('F', 8, 4, TestName = "Grows to four agents when the cost per task falls with the agents running")]
    public async Task Adaptive_count_follows_the_cost_model(char mode, int baseMilliseconds, int best)
    {
        var ct = Guard(180);
        string counter = Path.Combine(Dir, "running.counter");
        File.WriteAllBytes(counter, new byte[8]);
        var options = Options(agents: 1); // ignored: the adaptive count's maximum (4) agents start.
        options.Concurrency = FourAgentsStartingAtTwo;
        var handles = new List<AgentTaskHandle>();
        AgentSessionSummary summary;
        IReadOnlyList<ActiveAgentsChange> history;
        await using (var session = await AgentSession.StartAsync(options, ct))
        {
            Assert.That(session.AgentProcessIds, Has.Count.EqualTo(4));
            // Keep it backlogged until the count has reached the best and 512 more tasks went in (bounded by a task count).
            int reachedAt = -1;
            while (handles.Count < 8000 && (reachedAt < 0 || handles.Count - reachedAt < 512))
            {
                handles.Add(await session.SubmitAsync(CostOp(baseMilliseconds, mode, counter), cancellationToken: ct));
                if (reachedAt < 0 && handles.Count % 32 == 0 && session.ActiveAgentsHistory.Any(c => c.NewCount == best))
                {
                    reachedAt = handles.Count;
                }
            }

            summary = await session.CompleteAsync(ct);
            history = session.ActiveAgentsHistory;
        }

        File.Delete(counter);
        AssertNothingLeft();
        string story = string.Join("; ", history.Select(c => $"{c.Elapsed.TotalSeconds:0.0}s {c.OldCount}->{c.NewCount} ({c.Reason})"));
        Assert.That(summary.Completed, Is.EqualTo(handles.Count), story);
        Assert.That(summary.Failed, Is.Zero, story);
        Assert.That(summary.TasksPerAgent.Sum(), Is.EqualTo(handles.Count), "every task ran exactly once");
        foreach (var h in handles)
        {
            string[] parts = Text(await h.Result).Split(' ');
            Assert.That(int.Parse(parts[0]), Is.InRange(1, 4), "no more tasks ran at once than agents");
            Assert.That(int.Parse(parts[1]), Is.InRange(0, 3));
        }

        Assert.That(history[0], Is.EqualTo(new ActiveAgentsChange(TimeSpan.Zero, 0, 2, "initial count")));
        Assert.That(history.Select(c => c.NewCount), Does.Contain(best), story);
        Assert.That(summary.ActiveAgentsHistory, Is.EqualTo(history));
        if (best == 1)
        {
            Assert.That(summary.ActiveAgents, Is.LessThanOrEqualTo(2), story); // at 1, or probing 2.
        }
        else
        {
            Assert.That(summary.ActiveAgents, Is.GreaterThanOrEqualTo(3), story); // at 4, or probing 3.
        }
    }

    [Test]
    public async Task Agents_beyond_the_count_take_no_work_processes()
    {
        var ct = Guard();
        var options = Options(agents: 1);
        options.Concurrency = new AgentConcurrency { MinAgents = 1, MaxAgents = 4, InitialAgents = 1, Window = TimeSpan.FromMinutes(10) };
        var handles = new List<AgentTaskHandle>();
        AgentSessionSummary summary;
        await using (var session = await AgentSession.StartAsync(options, ct))
        {
            for (int i = 0; i < 40; i++)
            {
                var p = new byte[5];
                p[0] = (byte)'I';
                BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(1), 5);
                handles.Add(await session.SubmitAsync(p, cancellationToken: ct));
            }

            summary = await session.CompleteAsync(ct);
            Assert.That(session.ActiveAgents, Is.EqualTo(1));
        }

        AssertNothingLeft();
        Assert.That(summary.Completed, Is.EqualTo(40));
        Assert.That(summary.TasksPerAgent, Is.EqualTo(new long[] { 40, 0, 0, 0 }), "standby agents neither received nor stole work");
        foreach (var h in handles)
        {
            Assert.That(Text(await h.Result), Does.StartWith("0 1 "));
        }

        Assert.That(summary.ActiveAgents, Is.EqualTo(1));
        Assert.That(summary.ActiveAgentsHistory, Has.Count.EqualTo(1));
    }

    [Test]
    [Repeat(3)]
    public async Task Agents_beyond_the_count_take_no_work_threads()
    {
        var ct = Guard();
        var ran = new ConcurrentDictionary<int, int>();
        var options = new AgentSessionOptions
        {
            Directory = Dir,
            Concurrency = new AgentConcurrency { MinAgents = 2, MaxAgents = 5, InitialAgents = 2, Window = TimeSpan.FromMinutes(10) },
            InProcessHandler = async (task, token) =>
            {
                ran.AddOrUpdate(task.AgentIndex, 1, (_, n) => n + 1);
                await Task.Delay(1, token);
                return task.Payload;
            },
        };
        const int count = 300;
        var handles = new AgentTaskHandle[count];
        await using (var session = await AgentSession.StartAsync(options, ct))
        {
            for (int i = 0; i < count; i++)
            {
                handles[i] = await session.SubmitAsync(BitConverter.GetBytes(i), cancellationToken: ct);
            }

            var summary = await session.CompleteAsync(ct);
            Assert.That(summary.Completed, Is.EqualTo(count));
            Assert.That(summary.TasksPerAgent.Skip(2).Sum(), Is.Zero, "agents 2..4 are on standby");
            Assert.That(session.ActiveAgents, Is.EqualTo(2));
        }

        AssertNothingLeft();
        Assert.That(ran.Keys.Order(), Is.EqualTo(new[] { 0, 1 }));
        Assert.That(ran.Values.Sum(), Is.EqualTo(count));
        for (int i = 0; i < count; i++)
        {
            Assert.That(BitConverter.ToInt32((await handles[i].Result).Span), Is.EqualTo(i));
        }
    }

    [Test]
    public async Task A_fixed_count_publishes_its_active_agents_and_no_history()
    {
        var ct = Guard();
        var options = Options(agents: 3);
        AgentSessionSummary summary;
        await using (var session = await AgentSession.StartAsync(options, ct))
        {
            await (await session.SubmitAsync(Op('E', "x"), cancellationToken: ct)).Result;
            summary = await session.CompleteAsync(ct);
        }

        AssertNothingLeft();
        Assert.That(summary.ActiveAgents, Is.EqualTo(3));
        Assert.That(summary.ActiveAgentsHistory, Is.Empty);
    }
}

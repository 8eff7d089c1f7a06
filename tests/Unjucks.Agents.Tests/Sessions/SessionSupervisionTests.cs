using System.Globalization;
using Unjucks.TestSupport;

namespace Unjucks.Agents.Tests.Sessions;

/// <summary>Agents killed (SIGKILL) before registering, while running and while committing; poison tasks; hung
/// handlers; stopped (SIGSTOP) agents; restarts off; a killed coordinator. Every task is counted in and out.</summary>
public sealed class SessionSupervisionTests : SessionTestBase
{
    [Test]
    [Repeat(2)]
    public async Task An_agent_killed_before_registering_is_replaced_and_every_task_runs_once()
    {
        var ct = Guard();
        var env = new Dictionary<string, string> { ["UNJUCKS_TEST_KILL_BEFORE_REGISTER"] = "1:0" };
        await using var session = await AgentSession.StartAsync(Options(2, env), ct);
        var handles = new List<AgentTaskHandle>();
        for (int i = 0; i < 200; i++)
        {
            handles.Add(await session.SubmitAsync(Op('E', i.ToString(CultureInfo.InvariantCulture)), cancellationToken: ct));
        }

        // Long enough for the replacement (after its back-off) to register and take work.
        var slow = new List<AgentTaskHandle>();
        for (int i = 0; i < 40; i++)
        {
            slow.Add(await session.SubmitAsync(SleepOp(25), cancellationToken: ct));
        }

        var summary = await session.CompleteAsync(ct);
        Assert.That((summary.Completed, summary.Failed), Is.EqualTo((240L, 0L)));
        Assert.That((summary.AgentDeaths, summary.AgentRestarts), Is.EqualTo((1, 1)));
        Assert.That(summary.TasksPerAgent.Sum(), Is.EqualTo(240));
        Assert.That(summary.TasksPerAgent[1], Is.GreaterThan(0), "the replacement of agent 1 ran tasks");
        for (int i = 0; i < handles.Count; i++)
        {
            Assert.That(Text(await handles[i].Result), Is.EqualTo(i.ToString(CultureInfo.InvariantCulture)));
        }
    }

    [Test]
    [Repeat(2)]
    public async Task Agents_killed_while_running_rerun_their_task_elsewhere_with_the_next_attempt()
    {
        var ct = Guard();
        await using var session = await AgentSession.StartAsync(Options(3), ct);
        var killers = new List<AgentTaskHandle>();
        var others = new List<AgentTaskHandle>();
        for (int i = 0; i < 300; i++)
        {
            if (i % 100 == 50)
            {
                killers.Add(await session.SubmitAsync(Op('K', 1, "survived"), cancellationToken: ct));
            }
            else
            {
                others.Add(await session.SubmitAsync(Op('E', i.ToString(CultureInfo.InvariantCulture)), cancellationToken: ct));
            }
        }

        var summary = await session.CompleteAsync(ct);
        Assert.That((summary.Completed, summary.Failed), Is.EqualTo((300L, 0L)));
        Assert.That(summary.AgentDeaths, Is.EqualTo(3), "one death per killer task");
        Assert.That(summary.AgentRestarts, Is.EqualTo(3));
        foreach (var k in killers)
        {
            Assert.That(Text(await k.Result), Is.EqualTo("survived"));
        }

        Assert.That(summary.TasksPerAgent.Sum(), Is.EqualTo(300), "every committed task ran to its commit once (killed runs never count)");
    }

    [Test]
    [Repeat(2)]
    public async Task An_agent_killed_while_committing_is_recovered_and_the_task_commits_once()
    {
        var ct = Guard();
        var env = new Dictionary<string, string> { ["UNJUCKS_TEST_KILL_WHILE_COMMITTING"] = "5:1" };
        await using var session = await AgentSession.StartAsync(Options(2, env), ct);
        var handles = new List<AgentTaskHandle>();
        for (int i = 0; i < 20; i++)
        {
            handles.Add(await session.SubmitAsync(Op('E', "r" + i.ToString(CultureInfo.InvariantCulture)), cancellationToken: ct));
        }

        var summary = await session.CompleteAsync(ct);
        Assert.That((summary.Completed, summary.Failed, summary.AgentDeaths), Is.EqualTo((20L, 0L, 1)));
        for (int i = 0; i < handles.Count; i++)
        {
            Assert.That(Text(await handles[i].Result), Is.EqualTo("r" + i.ToString(CultureInfo.InvariantCulture)));
        }
    }

    [Test]
    public async Task A_task_that_kills_its_agent_every_time_fails_after_MaxAttempts_and_nothing_else_is_lost()
    {
        var ct = Guard();
        await using var session = await AgentSession.StartAsync(Options(2), ct);
        var poison = await session.SubmitAsync(Op('K', 255, "never"), cancellationToken: ct);
        var others = new List<AgentTaskHandle>();
        for (int i = 0; i < 100; i++)
        {
            others.Add(await session.SubmitAsync(Op('E', i.ToString(CultureInfo.InvariantCulture)), cancellationToken: ct));
        }

        var summary = await session.CompleteAsync(ct);
        var failure = (await Assert.ThrowsAsync<AgentTaskFailedException>(async () => await poison.Result))!;
        Assert.That((failure.ExceptionType, failure.Attempts), Is.EqualTo((AgentTaskFailedException.AgentDied, 3)));
        Assert.That((summary.Completed, summary.Failed, summary.AgentDeaths), Is.EqualTo((100L, 1L, 3)));
        for (int i = 0; i < others.Count; i++)
        {
            Assert.That(Text(await others[i].Result), Is.EqualTo(i.ToString(CultureInfo.InvariantCulture)));
        }
    }

    [Test]
    public async Task A_hung_handler_is_ended_by_the_lease_timeout_and_fails_after_MaxAttempts()
    {
        var ct = Guard();
        var options = Options(2);
        await using var session = await AgentSession.StartAsync(new AgentSessionOptions
        {
            Agents = 2, Directory = Dir, AgentProcess = options.AgentProcess, LeaseTimeout = TimeSpan.FromSeconds(2), MaxAttempts = 2,
        }, ct);
        var hung = await session.SubmitAsync(Op('H', 255, "never"), cancellationToken: ct);
        var late = await session.SubmitAsync(Op('H', 1, "second run"), cancellationToken: ct);
        var fine = await session.SubmitAsync(Op('E', "fine"), cancellationToken: ct);
        var summary = await session.CompleteAsync(ct);
        var failure = (await Assert.ThrowsAsync<AgentTaskFailedException>(async () => await hung.Result))!;
        Assert.That((failure.ExceptionType, failure.Attempts), Is.EqualTo((AgentTaskFailedException.LeaseTimeout, 2)));
        Assert.That(Text(await late.Result), Is.EqualTo("second run"));
        Assert.That(Text(await fine.Result), Is.EqualTo("fine"));
        Assert.That((summary.Completed, summary.Failed, summary.LeaseTimeouts), Is.EqualTo((2L, 1L, 3)));
    }

    [Test]
    public async Task A_stopped_agents_queued_tasks_finish_on_the_others_and_an_alert_is_raised()
    {
        var ct = Guard();
        var options = Options(2);
        await using var session = await AgentSession.StartAsync(new AgentSessionOptions
        {
            Agents = 2, Directory = Dir, AgentProcess = options.AgentProcess, StallTimeout = TimeSpan.FromMilliseconds(500),
        }, ct);
        // Both agents registered and working before the stop.
        for (int i = 0; i < 20; i++)
        {
            await (await session.SubmitAsync(Op('E'), cancellationToken: ct)).Result.WaitAsync(ct);
        }

        int stopped = session.AgentProcessIds[0];
        Signals.Send(stopped, Signals.SIGSTOP);
        try
        {
            var handles = new List<AgentTaskHandle>();
            // 1.5 s of work for the one live agent: longer than StallTimeout, so the stall is seen while it works.
            for (int i = 0; i < 150; i++)
            {
                handles.Add(await session.SubmitAsync(SleepOp(10), cancellationToken: ct));
            }

            await Task.WhenAll(handles.Select(h => h.Result)).WaitAsync(ct);
            Assert.That(session.AgentProcessIds[0], Is.EqualTo(stopped), "a stalled agent is not killed");
        }
        finally
        {
            Signals.Send(stopped, Signals.SIGCONT);
        }

        await (await session.SubmitAsync(Op('E'), cancellationToken: ct)).Result.WaitAsync(ct);
        var summary = await session.CompleteAsync(ct);
        Assert.That((summary.Completed, summary.Failed, summary.AgentDeaths), Is.EqualTo((171L, 0L, 0)));
        Assert.That(summary.Stalls, Is.GreaterThanOrEqualTo(1));
        Assert.That(summary.Alerts.Select(a => a.Kind), Does.Contain("AgentStalled"));
    }

    [Test]
    public async Task With_restarts_off_the_session_goes_on_with_the_living_and_fails_only_when_none_is_left()
    {
        var ct = Guard();
        var options = Options(2);
        await using var session = await AgentSession.StartAsync(new AgentSessionOptions
        {
            Agents = 2, Directory = Dir, AgentProcess = options.AgentProcess, RestartDeadAgents = false, MaxAttempts = 5,
        }, ct);
        var first = await session.SubmitAsync(Op('K', 1, "after one death"), cancellationToken: ct);
        Assert.That(Text(await first.Result.WaitAsync(ct)), Is.EqualTo("after one death"));
        var poison = await session.SubmitAsync(Op('K', 255), cancellationToken: ct);
        var failure = (await Assert.ThrowsAsync<AgentTaskFailedException>(async () => await poison.Result.WaitAsync(ct)))!;
        Assert.That(failure.ExceptionType, Is.EqualTo(AgentTaskFailedException.AgentDied));
        var after = await session.SubmitAsync(Op('E'), cancellationToken: ct);
        Assert.That((await Assert.ThrowsAsync<AgentTaskFailedException>(async () => await after.Result.WaitAsync(ct)))!.ExceptionType,
            Is.EqualTo(AgentTaskFailedException.AgentDied), "no agent is left");
        var summary = await session.CompleteAsync(ct);
        Assert.That((summary.Completed, summary.Failed, summary.AgentDeaths, summary.AgentRestarts), Is.EqualTo((1L, 2L, 2, 0)));
        Assert.That(summary.Alerts.Select(a => a.Kind), Does.Contain("NoAgentsLeft"));
    }

    [Test]
    public async Task A_killed_coordinator_takes_its_agents_with_it_and_RemoveStale_removes_every_file()
    {
        using var coordinator = ChildProcess.Start("Unjucks.SessionTestAgent", ["coordinator", Dir, "3", "20"]);
        string line = await coordinator.ReadLineAsync(TimeSpan.FromSeconds(60));
        Assert.That(line, Does.StartWith("pids "));
        int[] agents = [.. line[5..].Split(' ').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
        Assert.That(agents, Has.Length.EqualTo(3));
        Assert.That(AgentSession.RemoveStale(Dir), Is.Empty, "a live session's files are left alone");
        coordinator.Kill();

        // PR_SET_PDEATHSIG: the kernel kills each agent as its parent dies. Polled, since reaping is asynchronous.
        var deadline = DateTime.UtcNow.AddSeconds(1);
        while (agents.Any(Signals.IsRunning) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.That(agents.Where(Signals.IsRunning), Is.Empty, "agents still running 1 s after their coordinator's SIGKILL");
        Assert.That(Directory.EnumerateFiles(Dir), Is.Not.Empty, "the killed coordinator left its session file");
        var removed = AgentSession.RemoveStale(Dir);
        Assert.That(removed, Has.Some.EndsWith(".session"));
        AssertNothingLeft();
    }
}

// Scenario tests of SchedulerCore: each plays a short, hand-written history and checks the exact actions.
using Unjucks.Agents.Sessions.Core;
using static Unjucks.Agents.Tests.Sessions.Core.SchedulerCoreDriver;

namespace Unjucks.Agents.Tests.Sessions.Core;

public class SchedulerCoreTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    private static SchedulerCoreDriver Registered(SchedulerCoreOptions options)
    {
        var driver = new SchedulerCoreDriver(options);
        driver.RegisterAll();
        return driver;
    }

    private static void AssertFail(SchedulerAction action, long task, int slot, int attempt, string type, string? messagePart = null)
    {
        Assert.That((action.Kind, action.Task, action.Slot, action.Attempt, action.ExceptionType),
            Is.EqualTo((SchedulerActionKind.FailTask, task, slot, attempt, type)), action.ToString());
        if (messagePart is not null)
        {
            Assert.That(action.Message, Does.Contain(messagePart));
        }
    }

    private static void AssertAlert(SchedulerAction action, string kind, string? messagePart = null)
    {
        Assert.That((action.Kind, action.ExceptionType), Is.EqualTo((SchedulerActionKind.Alert, kind)), action.ToString());
        if (messagePart is not null)
        {
            Assert.That(action.Message, Does.Contain(messagePart));
        }
    }

    private static void AssertKill(SchedulerAction action, int agent, string reason)
    {
        Assert.That((action.Kind, action.Agent, action.ExceptionType), Is.EqualTo((SchedulerActionKind.KillAgent, agent, reason)), action.ToString());
    }

    [Test]
    public void Start_StartsEverySlot_AndPlacesWhatWasSubmittedBefore()
    {
        var d = new SchedulerCoreDriver(new SchedulerCoreOptions { Agents = 2, Slots = 4 }, start: false);
        Assert.That(d.Submit(1), Is.Empty, "no agent is started yet");
        Assert.That(d.Start(), Is.EqualTo(new[] { StartAgent(0), StartAgent(1), Place(1, 0, 0) }));
        Assert.That(d.Core.IsAgentAlive(0) && d.Core.IsAgentAlive(1), Is.True);
        Assert.That(d.Core.AgentRestarts, Is.Zero);
        Assert.Throws<InvalidOperationException>(() => d.Start());
    }

    [Test]
    public void Placement_TakesTheLeastLoadedAgent_RegisteredFirstOnTies_ThenLowestIndex()
    {
        var d = new SchedulerCoreDriver(new SchedulerCoreOptions { Agents = 3, Slots = 8 });
        d.Registered(2);
        Assert.That(d.Submit(1), Is.EqualTo(new[] { Place(1, 2, 0) }));
        Assert.That(d.Submit(2), Is.EqualTo(new[] { Place(2, 0, 1) }));
        Assert.That(d.Submit(3), Is.EqualTo(new[] { Place(3, 1, 2) }));
        Assert.That(d.Submit(4), Is.EqualTo(new[] { Place(4, 2, 3) }));
        Assert.That(d.Submit(5), Is.EqualTo(new[] { Place(5, 0, 4) }));
        Assert.That(new[] { d.Core.Load(0), d.Core.Load(1), d.Core.Load(2) }, Is.EqualTo(new[] { 2, 1, 2 }));
    }

    [Test]
    public void FullSlots_QueueFifo_AndAFreedSlotGoesToTheNextReadyTask()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 1, Slots = 2 });
        Assert.That(d.Submit(10), Is.EqualTo(new[] { Place(10, 0, 0) }));
        Assert.That(d.Submit(11), Is.EqualTo(new[] { Place(11, 0, 1) }));
        Assert.That(d.Submit(12), Is.Empty);
        Assert.That(d.Submit(13), Is.Empty);
        Assert.That(d.Committed(11), Is.EqualTo(new[] { Place(12, 0, 1) }));
        Assert.That(d.Committed(10), Is.EqualTo(new[] { Place(13, 0, 0) }));
        Assert.That(d.Core.Unfinished, Is.EqualTo(2));
    }

    [Test]
    public void Chain_EachTaskIsPlacedWhenItsDependencyCommits()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 2, Slots = 4 });
        Assert.That(d.Submit(1), Is.EqualTo(new[] { Place(1, 0, 0) }));
        Assert.That(d.Submit(2, 1), Is.Empty);
        Assert.That(d.Submit(3, 2), Is.Empty);
        d.Started(1, 0);
        Assert.That(d.Committed(1), Is.EqualTo(new[] { Place(2, 0, 0) }));
        Assert.That(d.Committed(2), Is.EqualTo(new[] { Place(3, 0, 0) }));
        Assert.That(d.Committed(3), Is.Empty);
        Assert.That(d.Core.Unfinished, Is.Zero);
    }

    [Test]
    public void Diamond_TheJoinWaitsForBothBranches()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 2, Slots = 4 });
        Assert.That(d.Submit(1), Is.EqualTo(new[] { Place(1, 0, 0) }));
        Assert.That(d.Submit(2, 1), Is.Empty);
        Assert.That(d.Submit(3, 1), Is.Empty);
        Assert.That(d.Submit(4, 2, 3), Is.Empty);
        Assert.That(d.Committed(1), Is.EqualTo(new[] { Place(2, 0, 0), Place(3, 1, 1) }));
        Assert.That(d.Committed(3), Is.Empty, "task 4 still waits for task 2");
        Assert.That(d.Committed(2), Is.EqualTo(new[] { Place(4, 0, 0) }));
    }

    [Test]
    public void HandlerFailure_FailsTheTaskWithItsAttempt_AndEveryDependentTransitively()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 1, Slots = 2 });
        Assert.That(d.Submit(1), Is.EqualTo(new[] { Place(1, 0, 0) }));
        Assert.That(d.Submit(6), Is.EqualTo(new[] { Place(6, 0, 1) }));
        Assert.That(d.Submit(2, 1), Is.Empty);
        Assert.That(d.Submit(3, 1), Is.Empty);
        Assert.That(d.Submit(4, 2, 3), Is.Empty);
        Assert.That(d.Submit(5, 4), Is.Empty);
        d.Started(1, 0);

        var actions = d.Failed(1, "InvalidOperationException", "bad input");
        Assert.That(actions, Has.Count.EqualTo(5));
        AssertFail(actions[0], 1, 0, 1, "InvalidOperationException", "bad input");
        AssertFail(actions[1], 2, -1, 0, SchedulerCore.DependencyFailed, "dependency task 1 failed: InvalidOperationException: bad input");
        AssertFail(actions[2], 3, -1, 0, SchedulerCore.DependencyFailed, "dependency task 1 failed");
        AssertFail(actions[3], 4, -1, 0, SchedulerCore.DependencyFailed, "dependency task 2 failed");
        AssertFail(actions[4], 5, -1, 0, SchedulerCore.DependencyFailed, "dependency task 4 failed");
        Assert.That(actions[4].Message, Does.Contain("task 1 failed: InvalidOperationException"), "the root cause is kept");
        Assert.That(d.Core.Unfinished, Is.EqualTo(1), "the unrelated task 6 runs on");

        var late = d.SubmitAfterFailed(7, 1);
        Assert.That(late, Has.Count.EqualTo(1));
        AssertFail(late[0], 7, -1, 0, SchedulerCore.DependencyFailed, "dependency task 1 failed");
        Assert.That(d.Submit(8), Is.EqualTo(new[] { Place(8, 0, 0) }), "the failed task's slot is free again");
    }

    [Test]
    public void PoisonTask_FailsAgentDied_AfterMaxAttemptsDeaths()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 2, Slots = 1, MaxAttempts = 3 });
        Assert.That(d.Submit(1), Is.EqualTo(new[] { Place(1, 0, 0) }));
        d.Started(1, 0);
        Assert.That(d.Died(0, 1), Is.EqualTo(new[] { Requeue(1, 1, 0, 2) }));
        d.Started(1, 1);
        Assert.That(d.Tick(60 * Ms), Is.EqualTo(new[] { StartAgent(0) }));
        d.Registered(0);
        Assert.That(d.Died(1, 1), Is.EqualTo(new[] { Requeue(1, 0, 0, 3) }));
        d.Started(1, 0);

        var actions = d.Died(0, 1);
        Assert.That(actions, Has.Count.EqualTo(1));
        AssertFail(actions[0], 1, 0, 3, SchedulerCore.AgentDiedReason, "agent died 3 time(s)");
        Assert.That((d.Core.AgentDeaths, d.Core.AgentRestarts, d.Core.Unfinished), Is.EqualTo((3, 1, 0)));
    }

    [Test]
    public void HangingTask_KillsItsAgentOncePerLeaseTimeout_AndFailsLeaseTimeoutAtMaxAttempts()
    {
        var d = Registered(new SchedulerCoreOptions
        {
            Agents = 2, Slots = 2, MaxAttempts = 2, LeaseTimeout = TimeSpan.FromSeconds(1), StallTimeout = TimeSpan.FromSeconds(10),
        });
        Assert.That(d.Submit(1), Is.EqualTo(new[] { Place(1, 0, 0) }));
        d.Started(1, 0);
        Assert.That(d.Tick(500 * Ms), Is.Empty);
        var kill = d.Tick(600 * Ms);
        Assert.That(kill, Has.Count.EqualTo(1));
        AssertKill(kill[0], 0, SchedulerCore.LeaseTimeoutReason);
        Assert.That(kill[0].Message, Does.Contain("task 1"));
        Assert.That(d.Tick(500 * Ms), Is.Empty, "one kill per agent");
        Assert.That(d.Core.IsAgentEligible(0), Is.False);
        Assert.That(d.Core.IsAgentAlive(0), Is.True, "alive until its death is reported");
        Assert.That(d.Core.LeaseTimeouts, Is.EqualTo(1));

        Assert.That(d.Died(0, 1), Is.EqualTo(new[] { Requeue(1, 1, 0, 2) }));
        d.Started(1, 1);
        var second = d.Tick(1100 * Ms);
        Assert.That(second, Has.Count.EqualTo(2));
        Assert.That(second[0], Is.EqualTo(StartAgent(0)), "the restart of agent 0 was due");
        AssertKill(second[1], 1, SchedulerCore.LeaseTimeoutReason);

        var actions = d.Died(1, 1);
        Assert.That(actions, Has.Count.EqualTo(1));
        AssertFail(actions[0], 1, 0, 2, SchedulerCore.LeaseTimeoutReason, "lease time-out 2 time(s)");
    }

    [Test]
    public void DeadAgent_HeldTasksUseAnAttempt_ItsOtherTasksKeepTheirs()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 2, Slots = 8 });
        d.Submit(1);
        d.Submit(2);
        d.Submit(3);
        d.Submit(4);
        d.Started(1, 0);
        Assert.That(d.Died(0, 1), Is.EqualTo(new[] { Requeue(1, 1, 0, 2), Requeue(3, 1, 2, 1) }));
        Assert.That(d.Core.Load(1), Is.EqualTo(4));
    }

    [Test]
    public void DeadAgent_WithNoOtherAgent_ItsTasksWaitForTheRestart()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 1, Slots = 2 });
        d.Submit(1);
        d.Submit(2);
        d.Started(1, 0);
        Assert.That(d.Died(0, 1), Is.Empty);
        Assert.That(d.Tick(40 * Ms), Is.Empty);
        Assert.That(d.Tick(10 * Ms), Is.EqualTo(new[] { StartAgent(0), Requeue(1, 0, 0, 2), Requeue(2, 0, 1, 1) }));
        Assert.That(d.Core.Unfinished, Is.EqualTo(2));
    }

    [Test]
    public void StalledAgent_IsAlerted_ItsUnstartedTasksMove_AndItResumesWithoutBeingKilled()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 2, Slots = 8, StallTimeout = TimeSpan.FromSeconds(2) });
        Assert.That(new[] { d.Submit(1)[0], d.Submit(2)[0], d.Submit(3)[0], d.Submit(4)[0] },
            Is.EqualTo(new[] { Place(1, 0, 0), Place(2, 1, 1), Place(3, 0, 2), Place(4, 1, 3) }));
        d.Started(1, 0);
        d.Clock.Advance(1500 * Ms);
        d.Heartbeat(1);
        d.Clock.Advance(1000 * Ms);
        d.Heartbeat(1);

        var actions = d.Tick();
        Assert.That(actions, Has.Count.EqualTo(2));
        AssertAlert(actions[0], SchedulerCore.AgentStalledAlert, "agent 0");
        Assert.That(actions[1], Is.EqualTo(Requeue(3, 1, 2, 1)), "the started task stays");
        Assert.That((d.Core.IsAgentStalled(0), d.Core.IsAgentAlive(0), d.Core.Stalls), Is.EqualTo((true, true, 1)));
        Assert.That((d.Core.Load(0), d.Core.Load(1)), Is.EqualTo((1, 3)));
        Assert.That(d.Submit(5), Is.EqualTo(new[] { Place(5, 1, 4) }), "a stalled agent gets no work");
        Assert.That(d.Tick(), Is.Empty, "one alert per stall");

        var resumed = d.Heartbeat(0);
        Assert.That(resumed, Has.Count.EqualTo(1));
        AssertAlert(resumed[0], SchedulerCore.AgentResumedAlert, "agent 0");
        Assert.That(d.Submit(6), Is.EqualTo(new[] { Place(6, 0, 5) }));
    }

    [Test]
    public void EveryAgentStalled_TasksStay_UntilOneResumes()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 2, Slots = 8, StallTimeout = TimeSpan.FromSeconds(2) });
        d.Submit(1);
        d.Submit(2);
        d.Submit(3);
        var actions = d.Tick(2500 * Ms);
        Assert.That(actions, Has.Count.EqualTo(4));
        AssertAlert(actions[0], SchedulerCore.AgentStalledAlert, "agent 0");
        Assert.That(actions[1..3], Is.EqualTo(new[] { Requeue(1, 1, 0, 1), Requeue(3, 1, 2, 1) }), "agent 1 was still eligible");
        AssertAlert(actions[3], SchedulerCore.AgentStalledAlert, "agent 1");
        Assert.That(d.Submit(4), Is.Empty, "no eligible agent");

        var resumed = d.Heartbeat(0);
        Assert.That(resumed, Has.Count.EqualTo(5));
        AssertAlert(resumed[0], SchedulerCore.AgentResumedAlert);
        Assert.That(resumed[1..], Is.EqualTo(new[] { Requeue(2, 0, 1, 1), Requeue(1, 0, 0, 1), Requeue(3, 0, 2, 1), Place(4, 0, 3) }));
    }

    [Test]
    public void StartTimeout_KillsAnAgentThatNeverRegisters()
    {
        var d = new SchedulerCoreDriver(new SchedulerCoreOptions { Agents = 2, Slots = 4, StartTimeout = TimeSpan.FromSeconds(5), StallTimeout = TimeSpan.FromMinutes(5) });
        d.Registered(1);
        Assert.That(d.Tick(4 * TimeSpan.FromSeconds(1)), Is.Empty);
        var kill = d.Tick(1100 * Ms);
        Assert.That(kill, Has.Count.EqualTo(1));
        AssertKill(kill[0], 0, SchedulerCore.StartTimeoutReason);
        Assert.That(d.Core.StartTimeouts, Is.EqualTo(1));
        Assert.That(d.Submit(1), Is.EqualTo(new[] { Place(1, 1, 0) }));
        Assert.That(d.Died(0), Is.Empty);
        Assert.That(d.Tick(50 * Ms), Is.EqualTo(new[] { StartAgent(0) }));
    }

    [Test]
    public void Restarts_BackOffDoublingUpToTheMaximum_ThenTheBudgetRunsOut()
    {
        var d = Registered(new SchedulerCoreOptions
        {
            Agents = 2, Slots = 2, MaxRestartsPerMinute = 3, RestartBackoff = 100 * Ms, RestartBackoffMax = 250 * Ms, StallTimeout = TimeSpan.FromMinutes(5),
        });
        foreach (int backoffMs in new[] { 100, 200, 250 })
        {
            Assert.That(d.Died(0), Is.Empty);
            Assert.That(d.Core.IsAgentAlive(0), Is.False);
            Assert.That(d.Tick((backoffMs - 1) * Ms), Is.Empty, $"back-off {backoffMs} ms");
            Assert.That(d.Tick(Ms), Is.EqualTo(new[] { StartAgent(0) }), $"back-off {backoffMs} ms");
            Assert.That(d.Core.IsAgentAlive(0), Is.True);
        }

        var exhausted = d.Died(0);
        Assert.That(exhausted, Has.Count.EqualTo(1));
        AssertAlert(exhausted[0], SchedulerCore.RestartBudgetExhaustedAlert, "agent 0");
        Assert.That(d.Tick(TimeSpan.FromSeconds(90)), Is.Empty, "a slot over budget stays down");
        Assert.That((d.Core.AgentRestarts, d.Core.AgentDeaths, d.Core.IsAgentAlive(0)), Is.EqualTo((3, 4, false)));
    }

    [Test]
    public void Restarts_ADeathMoreThanAMinuteAfterTheLastStartsTheBackOffAgain()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 2, Slots = 2, RestartBackoff = 100 * Ms, StallTimeout = TimeSpan.FromMinutes(5) });
        d.Died(0);
        Assert.That(d.Tick(100 * Ms), Is.EqualTo(new[] { StartAgent(0) }));
        d.Clock.Advance(TimeSpan.FromSeconds(61));
        d.Died(0);
        Assert.That(d.Tick(100 * Ms), Is.EqualTo(new[] { StartAgent(0) }));
    }

    [Test]
    public void NoAgentsLeft_FailsEveryUnfinishedTask_AndLaterSubmissions()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 1, Slots = 1, RestartDeadAgents = false });
        Assert.That(d.Submit(1), Is.EqualTo(new[] { Place(1, 0, 0) }));
        Assert.That(d.Submit(2), Is.Empty);
        Assert.That(d.Submit(3, 2), Is.Empty);
        d.Started(1, 0);

        var actions = d.Died(0, 1);
        Assert.That(actions, Has.Count.EqualTo(4));
        AssertAlert(actions[0], SchedulerCore.NoAgentsLeftAlert);
        AssertFail(actions[1], 1, 0, 2, SchedulerCore.AgentDiedReason);
        AssertFail(actions[2], 2, -1, 0, SchedulerCore.AgentDiedReason);
        AssertFail(actions[3], 3, -1, 0, SchedulerCore.AgentDiedReason);
        Assert.That((d.Core.NoAgentsLeft, d.Core.Unfinished), Is.EqualTo((true, 0)));

        var late = d.Submit(4);
        Assert.That(late, Has.Count.EqualTo(1));
        AssertFail(late[0], 4, -1, 0, SchedulerCore.AgentDiedReason);
        Assert.That(d.Tick(TimeSpan.FromSeconds(10)), Is.Empty);
    }

    [Test]
    public void NoAgentsLeft_WhenTheLastSlotUsesItsRestartBudget()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 1, Slots = 1, MaxRestartsPerMinute = 1 });
        d.Submit(1);
        Assert.That(d.Died(0), Is.Empty, "a restart is scheduled");
        Assert.That(d.Tick(50 * Ms), Is.EqualTo(new[] { StartAgent(0), Requeue(1, 0, 0, 1) }));
        var actions = d.Died(0);
        Assert.That(actions, Has.Count.EqualTo(3));
        AssertAlert(actions[0], SchedulerCore.RestartBudgetExhaustedAlert);
        AssertAlert(actions[1], SchedulerCore.NoAgentsLeftAlert);
        AssertFail(actions[2], 1, 0, 1, SchedulerCore.AgentDiedReason);
    }

    [Test]
    public void IdleAgent_IsWokenOnce_WhileAnotherSitsOnTwoUnstartedTasks_AndAStealMovesTheLoad()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 2, Slots = 8 });
        d.Submit(1);
        d.Submit(2);
        d.Submit(3);
        d.Submit(4);
        d.Started(1, 0);
        d.Started(3, 0);
        Assert.That(d.Committed(1), Is.Empty, "agent 0 is still busy");
        Assert.That(d.Committed(3), Is.EqualTo(new[] { Wake(0) }));
        Assert.That(d.Core.Wakes, Is.EqualTo(1));

        Assert.That(d.Started(2, 0), Is.Empty);
        Assert.That((d.Core.Steals, d.Core.Load(0), d.Core.Load(1)), Is.EqualTo((1, 1, 1)));
        Assert.That(d.Committed(2), Is.Empty, "agent 1 has a single unstarted task left");
    }

    [Test]
    public void LateAndDuplicateEvents_AreIgnored()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 1, Slots = 1 });
        Assert.That(d.Submit(1), Is.EqualTo(new[] { Place(1, 0, 0) }));
        Assert.That(d.Submit(2), Is.Empty);
        Assert.That(d.Started(2, 0), Is.Empty, "never placed");
        Assert.That(d.Started(99, 0), Is.Empty, "unknown");
        d.Started(1, 0);
        Assert.That(d.Started(1, 0), Is.Empty, "duplicate");
        Assert.That(d.Committed(1), Is.EqualTo(new[] { Place(2, 0, 0) }));
        Assert.That(d.Committed(1), Is.Empty);
        Assert.That(d.Started(1, 0), Is.Empty);
        Assert.That(d.Failed(1), Is.Empty);
        Assert.That(d.Committed(2), Is.Empty);
        Assert.That(d.Core.Unfinished, Is.Zero);
        Assert.That(d.Core.Load(0), Is.Zero);

        Assert.That(d.Died(0), Is.Empty);
        Assert.That(d.Died(0), Is.Empty);
        Assert.That(d.Heartbeat(0), Is.Empty);
        Assert.That(d.Registered(0), Is.Empty);
        Assert.That((d.Core.AgentDeaths, d.Core.IsAgentAlive(0)), Is.EqualTo((1, false)));
    }

    [Test]
    public void Slots_AreNeverGivenToTwoUnfinishedTasks()
    {
        var d = Registered(new SchedulerCoreOptions { Agents = 3, Slots = 3 });
        var rng = new Random(12345);
        var owner = new long?[3];
        var placed = new List<long>();
        for (long task = 0; task < 500; task++)
        {
            var actions = d.Submit(task);
            if (placed.Count > 0 && rng.Next(2) == 0)
            {
                long done = placed[rng.Next(placed.Count)];
                placed.Remove(done);
                owner[Array.IndexOf(owner, done)] = null;
                actions.AddRange(d.Committed(done));
            }

            foreach (var place in actions.Where(x => x.Kind == SchedulerActionKind.Place))
            {
                Assert.That(owner[place.Slot], Is.Null, $"slot {place.Slot} given to {place.Task} while {owner[place.Slot]} holds it");
                owner[place.Slot] = place.Task;
                placed.Add(place.Task);
            }
        }

        Assert.That(placed, Has.Count.EqualTo(3), "every slot is busy: more tasks were submitted than committed");
        Assert.That(d.Core.Unfinished, Is.GreaterThan(3));
    }
}

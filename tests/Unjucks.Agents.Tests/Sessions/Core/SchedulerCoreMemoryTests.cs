// Scenario tests of SchedulerCore's memory budget: reservations fit the budget, first in first out, released when a
// task ends (committed, failed, its agents dead), kept across requeues; tasks that reserve nothing are not held.
using Unjucks.Agents.Sessions.Core;
using static Unjucks.Agents.Tests.Sessions.Core.SchedulerCoreDriver;

namespace Unjucks.Agents.Tests.Sessions.Core;

public class SchedulerCoreMemoryTests
{
    private const long MiB = 1 << 20;

    private static SchedulerCoreDriver Registered(int agents, int slots, long budget)
    {
        var driver = new SchedulerCoreDriver(new SchedulerCoreOptions { Agents = agents, Slots = slots, MemoryBudgetBytes = budget });
        driver.RegisterAll();
        return driver;
    }

    [Test]
    public void TasksWaitUntilTheirReservationFits_AndStartInSubmissionOrder()
    {
        var d = Registered(agents: 4, slots: 16, budget: 256 * MiB);
        Assert.That(d.SubmitWithMemory(1, 100 * MiB), Is.EqualTo(new[] { Place(1, 0, 0) }));
        Assert.That(d.SubmitWithMemory(2, 100 * MiB), Is.EqualTo(new[] { Place(2, 1, 1) }));
        Assert.That(d.SubmitWithMemory(3, 100 * MiB), Is.Empty, "300 MiB would not fit 256");
        Assert.That(d.SubmitWithMemory(4, 10 * MiB), Is.Empty, "behind task 3: first in, first out, although 10 MiB would fit");
        Assert.That((d.Core.MemoryReserved, d.Core.TasksWaitingForMemory, d.Core.MemoryWaitingBytes), Is.EqualTo((200 * MiB, 2, 110 * MiB)));

        d.Started(1, 0);
        Assert.That(d.Committed(1), Is.EqualTo(new[] { Place(3, 0, 0), Place(4, 2, 2) }), "task 1's 100 MiB go to task 3, then 4 fits");
        Assert.That((d.Core.MemoryReserved, d.Core.TasksWaitingForMemory), Is.EqualTo((210 * MiB, 0)));
        Assert.That(d.Core.MemoryReservedPeak, Is.EqualTo(210 * MiB));
    }

    [Test]
    public void TasksThatReserveNothingAreNotHeldBehindALargeOne()
    {
        var d = Registered(agents: 2, slots: 8, budget: 100 * MiB);
        Assert.That(d.SubmitWithMemory(1, 80 * MiB), Is.EqualTo(new[] { Place(1, 0, 0) }));
        Assert.That(d.SubmitWithMemory(2, 80 * MiB), Is.Empty);
        Assert.That(d.Submit(3), Is.EqualTo(new[] { Place(3, 1, 1) }), "a task with no estimate needs no budget");
    }

    [Test]
    public void AFailureReleasesTheReservation()
    {
        var d = Registered(agents: 2, slots: 8, budget: 100 * MiB);
        d.SubmitWithMemory(1, 60 * MiB);
        Assert.That(d.SubmitWithMemory(2, 60 * MiB), Is.Empty);
        d.Started(1, 0);
        var actions = d.Failed(1);
        Assert.That(actions[0].Kind, Is.EqualTo(SchedulerActionKind.FailTask));
        Assert.That(actions.Skip(1), Is.EqualTo(new[] { Place(2, 0, 0) }));
        Assert.That(d.Core.MemoryReserved, Is.EqualTo(60 * MiB));
    }

    [Test]
    public void ARequeueAfterAnAgentDiesKeepsTheReservation_AndALostTaskReleasesIt()
    {
        var d = new SchedulerCoreDriver(new SchedulerCoreOptions { Agents = 2, Slots = 8, MemoryBudgetBytes = 100 * MiB, MaxAttempts = 1, RestartDeadAgents = false });
        d.RegisterAll();
        d.SubmitWithMemory(1, 70 * MiB);
        d.SubmitWithMemory(2, 70 * MiB);
        d.Started(1, 0);
        var died = d.Died(0, 1);
        Assert.That(died.Count(a => a.Kind == SchedulerActionKind.FailTask && a.Task == 1), Is.EqualTo(1), "one attempt allowed: task 1 fails with its agent");
        Assert.That(died, Does.Contain(Place(2, 1, 0)), "its 70 MiB went to task 2");
        Assert.That(d.Core.MemoryReserved, Is.EqualTo(70 * MiB));

        d.SubmitWithMemory(3, 20 * MiB);
        Assert.That(d.Core.MemoryReserved, Is.EqualTo(90 * MiB));
        d.Died(1);
        Assert.That(d.Core.NoAgentsLeft, Is.True);
        Assert.That((d.Core.MemoryReserved, d.Core.TasksWaitingForMemory, d.Core.Unfinished), Is.EqualTo((0L, 0, 0)));
    }

    [Test]
    public void ATaskWaitingForItsDependenciesReservesNothing()
    {
        var d = Registered(agents: 2, slots: 8, budget: 100 * MiB);
        d.SubmitWithMemory(1, 90 * MiB);
        Assert.That(d.SubmitWithMemory(2, 90 * MiB, 1), Is.Empty);
        Assert.That((d.Core.MemoryReserved, d.Core.TasksWaitingForMemory), Is.EqualTo((90 * MiB, 0)), "task 2 waits for task 1, not for memory");
        d.Started(1, 0);
        Assert.That(d.Committed(1), Is.EqualTo(new[] { Place(2, 0, 0) }));
    }

    [Test]
    public void WithoutABudgetEstimatesAreIgnored()
    {
        var d = Registered(agents: 2, slots: 8, budget: 0);
        Assert.That(d.SubmitWithMemory(1, 1L << 40), Is.EqualTo(new[] { Place(1, 0, 0) }));
        Assert.That(d.SubmitWithMemory(2, 1L << 40), Is.EqualTo(new[] { Place(2, 1, 1) }));
        Assert.That(d.Core.MemoryReserved, Is.Zero);
    }
}

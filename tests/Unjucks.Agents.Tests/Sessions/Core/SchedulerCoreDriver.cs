// Drives a SchedulerCore by hand for the scenario tests: each event method calls the core once (the clock stays) and
// returns exactly the actions that call emitted; Advance moves the manual clock. Static helpers build the expected
// actions that carry no message.
using Unjucks.Agents.Sessions.Core;

namespace Unjucks.Agents.Tests.Sessions.Core;

internal sealed class SchedulerCoreDriver
{
    public SchedulerCoreDriver(SchedulerCoreOptions options, bool start = true)
    {
        Options = options;
        Core = new SchedulerCore(options, Clock);
        if (start)
        {
            Start();
        }
    }

    public ManualTimeProvider Clock { get; } = new();

    public SchedulerCore Core { get; }

    public SchedulerCoreOptions Options { get; }

    public List<SchedulerAction> Start() => Call(a => Core.Start(a));

    public List<SchedulerAction> Submit(long task, params long[] pendingDependencies) => Call(a => Core.Submit(task, pendingDependencies, null, a));

    public List<SchedulerAction> SubmitWithMemory(long task, long memoryBytes, params long[] pendingDependencies) =>
        Call(a => Core.Submit(task, pendingDependencies, null, a, memoryBytes));

    public List<SchedulerAction> SubmitAfterFailed(long task, long failedDependency) => Call(a => Core.Submit(task, [], failedDependency, a));

    public List<SchedulerAction> Started(long task, int agent) => Call(a => Core.TaskStarted(task, agent, a));

    public List<SchedulerAction> Committed(long task) => Call(a => Core.TaskCommitted(task, a));

    public List<SchedulerAction> Failed(long task, string type = "HandlerError", string message = "boom") => Call(a => Core.TaskFailed(task, type, message, a));

    public List<SchedulerAction> Registered(int agent) => Call(a => Core.AgentRegistered(agent, a));

    public List<SchedulerAction> Heartbeat(int agent) => Call(a => Core.AgentHeartbeat(agent, a));

    public List<SchedulerAction> Died(int agent, params long[] held) => Call(a => Core.AgentDied(agent, held, a));

    public List<SchedulerAction> Tick() => Call(a => Core.Tick(a));

    /// <summary>Moves the clock, then ticks.</summary>
    public List<SchedulerAction> Tick(TimeSpan after)
    {
        Clock.Advance(after);
        return Tick();
    }

    public void RegisterAll()
    {
        for (int agent = 0; agent < Options.Agents; agent++)
        {
            Registered(agent);
        }
    }

    public static SchedulerAction Place(long task, int agent, int slot, int attempt = 1) => new(SchedulerActionKind.Place, task, agent, slot, attempt);

    public static SchedulerAction Requeue(long task, int agent, int slot, int attempt) => new(SchedulerActionKind.Requeue, task, agent, slot, attempt);

    public static SchedulerAction Wake(int agent) => new(SchedulerActionKind.Wake, -1, agent, -1, -1);

    public static SchedulerAction StartAgent(int agent) => new(SchedulerActionKind.StartAgent, -1, agent, -1, -1);

    private static List<SchedulerAction> Call(Action<List<SchedulerAction>> call)
    {
        var actions = new List<SchedulerAction>();
        call(actions);
        return actions;
    }
}

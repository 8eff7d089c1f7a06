// The scheduler core of an agent session: a deterministic state machine, no I/O, no processes, no Stopwatch.
// Inputs are the methods below (events); outputs are SchedulerActions appended to the list passed in. Time comes
// only from the TimeProvider given at construction (GetTimestamp / GetElapsedTime). One thread calls it.
//
// TASKS  Waiting --(last dependency committed)--> Ready --(slot + eligible agent)--> Queued(agent)
//        Queued(a) --TaskStarted(b)--> Running(b)        (b != a: a steal, the load moves to b)
//        Queued(a) --a stalls--> Queued(b)               (Requeue, same slot and attempt; left on a if no b)
//        Queued/Running(a) --a dies--> Queued(b) | Orphaned (no eligible agent: placed when one appears)
//        any --commit / failure / poison limit / no agents left--> ended (slot freed, instance recycled)
//   A task ends exactly once: TaskCommitted, TaskFailed, or a FailTask the core emits; later events naming it are
//   ignored (ended tasks leave the table, so a late event finds nothing). Only a task's own handler failure, its agent
//   dying or timing out on it MaxAttempts times, a failed dependency, or the loss of every agent end it failed.
//   Attempt is the run the agent does (1 first); only a death or lease time-out while the transport found the task
//   leased (heldTasks) uses one. Tasks of a dead agent that it did not hold are requeued with the same attempt.
//
// AGENTS NotStarted --Start()/restart--> Starting --AgentRegistered--> Registered --AgentDied--> Dead
//   Eligible for new work: Starting or Registered, not stalled (no heartbeat for StallTimeout), not being killed
//   (KillAgent emitted for lease or start time-out). Placement takes the least loaded eligible agent, a registered
//   one when loads tie, then the lowest index. A dead agent is restarted after a back-off that doubles per death of
//   that slot within a minute, while the slot had fewer than MaxRestartsPerMinute restarts in the last minute; a slot
//   over budget stays dead. When no agent is alive or due to restart, every unfinished task fails "AgentDied" and so
//   does every later submission.
//
// MEMORY A ready task that reserves memory (memoryBytes > 0, with a budget set) first waits in the FIFO memory queue
//   until the reservations held plus its own fit the budget; it then reserves and joins the ready queue, and holds its
//   reservation until it ends (requeues keep it). The head of the memory queue blocks the tasks behind it, so a large
//   task is not starved by a stream of small ones; tasks that reserve nothing skip the memory queue.
//
// ACTIVE COUNT  SetActiveAgents(n) (adaptive concurrency) keeps the n lowest-index agents that are not down (dead
//   with no restart coming) taking work; the others are on standby: alive, not eligible, told so (Standby) so that
//   they do not steal either, and their unstarted tasks move to active agents. Activate tells one to work again. None
//   is killed for it. When an active agent stays down, the next standby one becomes active.
//
// INVARIANTS  A slot belongs to at most one unfinished task, from its Place until it ends (Requeues keep it). A task
//   is placed only when every dependency committed. Place/Requeue name an eligible (hence alive) agent. Load(a)
//   counts exactly the Queued and Running tasks attributed to a. Outputs depend only on the inputs and the clock.
//
// COST   Submit, TaskStarted and TaskCommitted are O(agents) with no allocation once warm (task instances are
//   pooled; dependents lists are kept arrays). Tick is O(agents) plus, only when LeaseTimeout is set, the running
//   tasks (at most Slots); deaths and stalls walk the tasks of the agent concerned.
using System.Globalization;

namespace Unjucks.Agents.Sessions.Core;

/// <summary>The session's decisions: placement, stealing hints, lease time-outs, recovery, poison limits,
/// stall detection and restarts. See the file header.</summary>
internal sealed partial class SchedulerCore
{
    /// <summary>FailTask type of a task whose dependency failed.</summary>
    public const string DependencyFailed = "DependencyFailed";

    /// <summary>FailTask type of a task whose agents died (poison limit, or no agent left).</summary>
    public const string AgentDiedReason = "AgentDied";

    /// <summary>FailTask and KillAgent type for a task that ran past the lease time-out.</summary>
    public const string LeaseTimeoutReason = "LeaseTimeout";

    /// <summary>KillAgent type for an agent that did not register in time.</summary>
    public const string StartTimeoutReason = "StartTimeout";

    /// <summary>Alert kind: an agent missed its heartbeats for StallTimeout.</summary>
    public const string AgentStalledAlert = "AgentStalled";

    /// <summary>Alert kind: a stalled agent was seen again.</summary>
    public const string AgentResumedAlert = "AgentResumed";

    /// <summary>Alert kind: a dead agent slot used its restarts of the last minute and stays down.</summary>
    public const string RestartBudgetExhaustedAlert = "AgentRestartBudgetExhausted";

    /// <summary>Alert kind: every agent is dead and none is restarting.</summary>
    public const string NoAgentsLeftAlert = "NoAgentsLeft";

    private readonly SchedulerCoreOptions _options;
    private readonly TimeProvider _time;
    private readonly CoreAgent[] _agents;
    private readonly CoreSlots _slots;
    private readonly Dictionary<long, CoreTask> _tasks = new();
    private readonly Stack<CoreTask> _pool = new();
    private readonly Queue<CoreTaskRef> _ready = new();
    private readonly Queue<CoreTaskRef> _orphans = new();
    private readonly Queue<CoreTaskRef> _memoryQueue = new();
    private readonly long _leaseTimeout;
    private readonly long _stallTimeout;
    private readonly long _startTimeout;
    private readonly long _minute;
    private readonly long _backoff;
    private readonly long _backoffMax;
    private bool _started;
    private bool _noAgentsLeft;
    private int _scheduledRestarts;
    private int _activeTarget;
    private long _memoryReserved;
    private long _memoryWaitingBytes;
    private int _memoryWaiting;

    /// <summary>Creates the core; no action is produced until <see cref="Start"/>.</summary>
    public SchedulerCore(SchedulerCoreOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _options = options;
        _time = time;
        _agents = new CoreAgent[options.Agents];
        for (int i = 0; i < _agents.Length; i++)
        {
            _agents[i] = new CoreAgent(i);
        }

        _slots = new CoreSlots(options.Slots);
        _activeTarget = Math.Clamp(options.ActiveAgents ?? options.Agents, 1, options.Agents);
        _leaseTimeout = options.LeaseTimeout is { } lease ? ToTimestampTicks(lease) : -1;
        _stallTimeout = ToTimestampTicks(options.StallTimeout);
        _startTimeout = ToTimestampTicks(options.StartTimeout);
        _minute = ToTimestampTicks(TimeSpan.FromMinutes(1));
        _backoff = ToTimestampTicks(options.RestartBackoff);
        _backoffMax = Math.Max(_backoff, ToTimestampTicks(options.RestartBackoffMax));
    }

    /// <summary>Tasks submitted and not yet ended (committed or failed).</summary>
    public int Unfinished => _tasks.Count;

    /// <summary>Bytes of the memory budget the unfinished tasks hold now (at most <see cref="SchedulerCoreOptions.MemoryBudgetBytes"/>).</summary>
    public long MemoryReserved => _memoryReserved;

    /// <summary>Highest <see cref="MemoryReserved"/> so far.</summary>
    public long MemoryReservedPeak { get; private set; }

    /// <summary>Ready tasks waiting for their reservation to fit the memory budget.</summary>
    public int TasksWaitingForMemory => _memoryWaiting;

    /// <summary>Bytes the tasks of <see cref="TasksWaitingForMemory"/> wait for, together.</summary>
    public long MemoryWaitingBytes => _memoryWaitingBytes;

    /// <summary>The active agent count asked for (see <see cref="SetActiveAgents"/>).</summary>
    public int ActiveAgentTarget => _activeTarget;

    /// <summary>True when every agent taking work (not on standby, not down) is registered and has ended a task: what
    /// the adaptive count measures is then the count, not agents starting.</summary>
    public bool ActiveAgentsWarm
    {
        get
        {
            foreach (var agent in _agents)
            {
                if (!agent.Standby && !agent.IsDown && (agent.State != CoreAgentState.Registered || agent.Ended == 0))
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>Agents taking work now: not on standby and not down.</summary>
    public int ActiveAgents
    {
        get
        {
            int n = 0;
            foreach (var agent in _agents)
            {
                n += !agent.Standby && !agent.IsDown ? 1 : 0;
            }

            return n;
        }
    }

    /// <summary>Tasks that could run now: placed on or started by an agent, or ready and waiting for a slot or an
    /// agent (an upper bound: the ready queues may hold entries of tasks that moved on). Tasks waiting for dependencies
    /// or for memory are not counted. The adaptive agent count measures a window only while this exceeds the active
    /// count.</summary>
    public int Runnable
    {
        get
        {
            int n = _ready.Count + _orphans.Count;
            foreach (var agent in _agents)
            {
                n += agent.Load;
            }

            return n;
        }
    }

    /// <summary>The agent is on standby (beyond the active count).</summary>
    public bool IsAgentStandby(int agent) => _agents[agent].Standby;

    /// <summary>AgentDied events that ended a live agent.</summary>
    public int AgentDeaths { get; private set; }

    /// <summary>StartAgent actions emitted to replace a dead agent (not those of <see cref="Start"/>).</summary>
    public int AgentRestarts { get; private set; }

    /// <summary>KillAgent actions emitted for a lease time-out.</summary>
    public int LeaseTimeouts { get; private set; }

    /// <summary>KillAgent actions emitted for a start time-out.</summary>
    public int StartTimeouts { get; private set; }

    /// <summary>TaskStarted events on an agent other than the one the core attributed the task to.</summary>
    public int Steals { get; private set; }

    /// <summary>Times an agent was found stalled.</summary>
    public int Stalls { get; private set; }

    /// <summary>Wake actions emitted (stealing hints).</summary>
    public int Wakes { get; private set; }

    /// <summary>Every agent died with none restarting: unfinished and later tasks fail.</summary>
    public bool NoAgentsLeft => _noAgentsLeft;

    /// <summary>The agent's current process was started and has not died (it may be stalled or being killed).</summary>
    public bool IsAgentAlive(int agent) => _agents[agent].IsAlive;

    /// <summary>The agent may receive new work (alive, not stalled, not being killed).</summary>
    public bool IsAgentEligible(int agent) => _agents[agent].IsEligible;

    /// <summary>The agent is alive but missed its heartbeats.</summary>
    public bool IsAgentStalled(int agent) => _agents[agent].Stalled;

    /// <summary>Tasks placed on or started by the agent that have not ended.</summary>
    public int Load(int agent) => _agents[agent].Load;

    /// <summary>Emits StartAgent for every agent slot.</summary>
    public void Start(List<SchedulerAction> actions)
    {
        if (_started)
        {
            throw new InvalidOperationException("the scheduler core is already started");
        }

        _started = true;
        long now = _time.GetTimestamp();
        foreach (var agent in _agents)
        {
            StartProcess(agent, now, actions);
        }

        ApplyActiveCount(actions);
    }

    /// <summary>Sets how many agents take work (1 to Agents): the lowest-index ones that are not down. Agents beyond
    /// it go on standby (Standby; their unstarted tasks move to active agents); agents within it that were on
    /// standby are activated (Activate) and get work at once.</summary>
    public void SetActiveAgents(int count, List<SchedulerAction> actions)
    {
        _activeTarget = Math.Clamp(count, 1, _agents.Length);
        if (_started && !_noAgentsLeft)
        {
            ApplyActiveCount(actions);
        }
    }

    private void ApplyActiveCount(List<SchedulerAction> actions)
    {
        int wanted = _activeTarget;
        foreach (var agent in _agents)
        {
            bool standby = !agent.IsDown && wanted-- <= 0;
            if (agent.IsDown || agent.Standby == standby)
            {
                continue;
            }

            agent.Standby = standby;
            actions.Add(new SchedulerAction(standby ? SchedulerActionKind.Standby : SchedulerActionKind.Activate, -1, agent.Index, -1, -1));
        }

        // Only now that every flag is final: moving work off one agent must not pick one that goes on standby next.
        RescueStranded(actions);
        Drain(actions);
    }

    /// <summary>A new task. <paramref name="pendingDependencies"/> are the ids of dependencies that have not ended yet
    /// (the caller drops those that already committed); <paramref name="failedDependency"/> is one that already
    /// failed (then the task fails at once with "DependencyFailed" naming it). Ready tasks are placed at once when a
    /// slot and an agent are free, otherwise queued FIFO. A task with <paramref name="memoryBytes"/> (at most the
    /// budget; ignored without one) is placed only once its reservation fits the budget (see the header).</summary>
    public void Submit(long task, ReadOnlySpan<long> pendingDependencies, long? failedDependency, List<SchedulerAction> actions, long memoryBytes = 0)
    {
        if (failedDependency is { } failed)
        {
            actions.Add(Failure(task, -1, 0, DependencyFailed, $"dependency task {failed} failed"));
            return;
        }

        if (_noAgentsLeft)
        {
            actions.Add(Failure(task, -1, 0, AgentDiedReason, $"task {task} cannot run: every agent died and none is restarting"));
            return;
        }

        var t = _pool.Count > 0 ? _pool.Pop() : new CoreTask();
        t.Reset(task);
        t.MemoryBytes = _options.MemoryBudgetBytes > 0 ? Math.Clamp(memoryBytes, 0, _options.MemoryBudgetBytes) : 0;
        if (!_tasks.TryAdd(task, t))
        {
            t.Retire();
            _pool.Push(t);
            throw new ArgumentException($"task {task} is already unfinished in the scheduler core", nameof(task));
        }

        foreach (long id in pendingDependencies)
        {
            // A dependency the core no longer knows has ended; the caller drops committed ones, so treat it as such.
            if (_tasks.TryGetValue(id, out var dependency) && dependency != t)
            {
                dependency.AddDependent(t);
                t.PendingDependencies++;
            }
        }

        if (t.PendingDependencies == 0)
        {
            MakeReady(t);
            Drain(actions);
        }
    }

    /// <summary>The transport saw <paramref name="agent"/> lease the task (its own, a stolen one, or one a Requeue found leased).</summary>
    public void TaskStarted(long task, int agent, List<SchedulerAction> actions)
    {
        if (!_tasks.TryGetValue(task, out var t) || (uint)agent >= (uint)_agents.Length)
        {
            return;
        }

        var holder = _agents[agent];
        if (!holder.IsAlive)
        {
            return; // a late report about a process that is gone: its leases were recovered with its death
        }

        switch (t.State)
        {
            case CoreTaskState.Queued when t.Agent == agent:
                holder.Unstarted--;
                break;
            case CoreTaskState.Queued:
            case CoreTaskState.Running when t.Agent != agent:
                Steals++;
                _agents[t.Agent].Detach(t);
                holder.Attach(t, running: true);
                break;
            case CoreTaskState.Orphaned:
                Steals++;
                holder.Attach(t, running: true);
                break;
            default:
                return; // Running on this agent already (duplicate), or never placed (cannot happen)
        }

        t.State = CoreTaskState.Running;
        t.StartedAt = _time.GetTimestamp();
        t.LeaseTimedOutOn = -1;
    }

    /// <summary>The task's result was collected: its slot is free again; dependents whose last dependency this was are placed.</summary>
    public void TaskCommitted(long task, List<SchedulerAction> actions)
    {
        if (!_tasks.TryGetValue(task, out var t) || t.Slot < 0)
        {
            return; // ended already (late or duplicate), or never placed (cannot commit)
        }

        int agent = t.Agent;
        if (agent >= 0)
        {
            _agents[agent].Ended++;
        }

        Finish(t);
        for (int i = 0; i < t.DependentCount; i++)
        {
            var dependent = t.Dependents[i];
            if (dependent.IsCurrent && dependent.Task.State == CoreTaskState.Waiting && --dependent.Task.PendingDependencies == 0)
            {
                MakeReady(dependent.Task);
            }
        }

        Recycle(t);
        Drain(actions);
        WakeIfIdle(agent, actions);
    }

    /// <summary>The handler threw: FailTask for it (its type and message, attempts = its attempt) and "DependencyFailed" for every dependent, transitively.</summary>
    public void TaskFailed(long task, string exceptionType, string message, List<SchedulerAction> actions)
    {
        if (!_tasks.TryGetValue(task, out var t) || t.Slot < 0)
        {
            return;
        }

        int agent = t.Agent;
        if (agent >= 0)
        {
            _agents[agent].Ended++;
        }

        Fail(t, exceptionType, message, actions);
        Drain(actions);
        WakeIfIdle(agent, actions);
    }

    /// <summary>The agent's process wrote its registration (it is taking work).</summary>
    public void AgentRegistered(int agent, List<SchedulerAction> actions)
    {
        if ((uint)agent < (uint)_agents.Length && _agents[agent].IsAlive)
        {
            _agents[agent].State = CoreAgentState.Registered; // before Seen: a resume may place work, preferring registered agents
            Seen(agent, actions);
        }
    }

    /// <summary>The agent's heartbeat advanced.</summary>
    public void AgentHeartbeat(int agent, List<SchedulerAction> actions) => Seen(agent, actions);

    /// <summary>Time passed: due restarts, lease time-outs, start time-outs, stall detection.</summary>
    public void Tick(List<SchedulerAction> actions)
    {
        if (!_started || _noAgentsLeft)
        {
            return;
        }

        long now = _time.GetTimestamp();
        bool gained = _scheduledRestarts > 0 && StartDueRestarts(now, actions);
        if (_leaseTimeout >= 0)
        {
            KillOverdueLeases(now, actions);
        }

        foreach (var agent in _agents)
        {
            if (!agent.IsAlive || agent.BeingKilled)
            {
                continue;
            }

            if (agent.State == CoreAgentState.Starting && now - agent.StartedAt > _startTimeout)
            {
                StartTimeouts++;
                Kill(agent, StartTimeoutReason, string.Create(CultureInfo.InvariantCulture,
                    $"agent {agent.Index} did not register within {_options.StartTimeout.TotalSeconds:0.###} s of its start"), actions);
            }
            else if (!agent.Stalled && now - agent.LastSeen > _stallTimeout)
            {
                Stall(agent, now, actions);
            }
        }

        if (gained)
        {
            RescueStranded(actions);
        }

        Drain(actions);
    }

    /// <summary>A registration or heartbeat: the agent is seen now; a stalled one resumes. Null for a dead or unknown agent.</summary>
    private CoreAgent? Seen(int agent, List<SchedulerAction> actions)
    {
        if ((uint)agent >= (uint)_agents.Length || !_agents[agent].IsAlive)
        {
            return null;
        }

        var a = _agents[agent];
        long now = _time.GetTimestamp();
        a.LastSeen = now;
        if (a.Stalled)
        {
            a.Stalled = false;
            actions.Add(new SchedulerAction(SchedulerActionKind.Alert, -1, agent, -1, -1, AgentResumedAlert, $"agent {agent} is sending heartbeats again"));
            RescueStranded(actions);
            Drain(actions);
        }

        return a;
    }

    private long ToTimestampTicks(TimeSpan span)
    {
        if (span <= TimeSpan.Zero)
        {
            return 0;
        }

        double ticks = (double)span.Ticks * _time.TimestampFrequency / TimeSpan.TicksPerSecond;
        return ticks >= long.MaxValue / 4 ? long.MaxValue / 4 : (long)ticks;
    }

    private static SchedulerAction Failure(long task, int slot, int attempt, string type, string message) =>
        new(SchedulerActionKind.FailTask, task, -1, slot, attempt, type, message);
}

// One agent slot as the scheduler core sees it: the current process's life (starting, registered, dead), its health
// flags (stalled, being killed), the tasks attributed to it (an intrusive list in attribution order, so walks are
// deterministic) and the restart bookkeeping of the slot, which outlives the processes.
namespace Unjucks.Agents.Sessions.Core;

/// <summary>The life of an agent slot's current process.</summary>
internal enum CoreAgentState
{
    /// <summary>Never started (before <see cref="SchedulerCore.Start"/>).</summary>
    NotStarted,

    /// <summary>StartAgent emitted, no registration yet. Eligible: tasks wait in its inbox.</summary>
    Starting,

    /// <summary>Registered: taking work.</summary>
    Registered,

    /// <summary>The process is gone; a restart may be scheduled (<see cref="CoreAgent.RestartDueAt"/>).</summary>
    Dead,
}

/// <summary>Mutable per-agent state of <see cref="SchedulerCore"/>.</summary>
internal sealed class CoreAgent(int index)
{
    /// <summary>No restart is scheduled.</summary>
    public const long NoRestart = long.MinValue;

    /// <summary>The agent slot.</summary>
    public readonly int Index = index;

    /// <summary>See <see cref="CoreAgentState"/>.</summary>
    public CoreAgentState State;

    /// <summary>No heartbeat for StallTimeout: not eligible until it is seen again.</summary>
    public bool Stalled;

    /// <summary>KillAgent was emitted for the current process: not eligible, waiting for AgentDied.</summary>
    public bool BeingKilled;

    /// <summary>Beyond the active agent count: alive but takes no new work (not eligible, does not steal).</summary>
    public bool Standby;

    /// <summary>Timestamp of the StartAgent of the current process.</summary>
    public long StartedAt;

    /// <summary>Timestamp of the last start, registration or heartbeat.</summary>
    public long LastSeen;

    /// <summary>Tasks attributed to it (Queued or Running).</summary>
    public int Load;

    /// <summary>Tasks this agent committed or failed, over every process that held its slot.</summary>
    public long Ended;

    /// <summary>Of <see cref="Load"/>, those Queued (placed, not seen leased).</summary>
    public int Unstarted;

    /// <summary>First attributed task (oldest attribution).</summary>
    public CoreTask? Head;

    /// <summary>Last attributed task.</summary>
    public CoreTask? Tail;

    /// <summary>When the scheduled restart is due, or <see cref="NoRestart"/>.</summary>
    public long RestartDueAt = NoRestart;

    /// <summary>Timestamps of the restarts emitted for this slot in the last minute (oldest first).</summary>
    public readonly Queue<long> RecentRestarts = new();

    /// <summary>Deaths in a row, each within a minute of the previous one (drives the back-off).</summary>
    public int DeathStreak;

    /// <summary>Timestamp of the last death (valid when <see cref="DeathStreak"/> &gt; 0).</summary>
    public long LastDeathAt;

    /// <summary>Started and not dead (stalled and being-killed agents are alive).</summary>
    public bool IsAlive => State is CoreAgentState.Starting or CoreAgentState.Registered;

    /// <summary>May receive new work.</summary>
    public bool IsEligible => IsAlive && !Stalled && !BeingKilled && !Standby;

    /// <summary>Dead with no restart scheduled: it will not come back (after <see cref="SchedulerCore.Start"/>).</summary>
    public bool IsDown => State == CoreAgentState.Dead && RestartDueAt == NoRestart;

    /// <summary>Appends <paramref name="task"/> to the attributed list and counts it.</summary>
    public void Attach(CoreTask task, bool running)
    {
        task.Agent = Index;
        task.PrevOnAgent = Tail;
        task.NextOnAgent = null;
        if (Tail is null)
        {
            Head = task;
        }
        else
        {
            Tail.NextOnAgent = task;
        }

        Tail = task;
        Load++;
        if (!running)
        {
            Unstarted++;
        }
    }

    /// <summary>Removes <paramref name="task"/> (attributed to this agent) from the list and the counts.</summary>
    public void Detach(CoreTask task)
    {
        if (task.PrevOnAgent is null)
        {
            Head = task.NextOnAgent;
        }
        else
        {
            task.PrevOnAgent.NextOnAgent = task.NextOnAgent;
        }

        if (task.NextOnAgent is null)
        {
            Tail = task.PrevOnAgent;
        }
        else
        {
            task.NextOnAgent.PrevOnAgent = task.PrevOnAgent;
        }

        task.PrevOnAgent = null;
        task.NextOnAgent = null;
        task.Agent = -1;
        Load--;
        if (task.State == CoreTaskState.Queued)
        {
            Unstarted--;
        }
    }
}

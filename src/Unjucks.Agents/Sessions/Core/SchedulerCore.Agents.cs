// Agent health and recovery: (re)starting processes, deaths (attempts used by the tasks the dead agent held, the
// poison limit, requeues, restart back-off and budget, the end of a session with no agents), and the timed checks
// of Tick (due restarts, lease time-outs, start time-outs, stalls).
using System.Globalization;

namespace Unjucks.Agents.Sessions.Core;

internal sealed partial class SchedulerCore
{
    /// <summary>The agent's process is gone (exit, kill, failed start). <paramref name="heldTasks"/> are the tasks the
    /// transport recovered from the shared table as leased or committing by it: each has used one attempt (reason
    /// "LeaseTimeout" when the core killed it for that task, "AgentDied" otherwise) and is requeued, or fails at
    /// MaxAttempts. Its other tasks are requeued without using an attempt. Then a restart is scheduled, or, when no
    /// agent is alive or restarting, every unfinished task fails ("AgentDied") and later submissions fail at once.</summary>
    public void AgentDied(int agent, ReadOnlySpan<long> heldTasks, List<SchedulerAction> actions)
    {
        if ((uint)agent >= (uint)_agents.Length || !_agents[agent].IsAlive)
        {
            return; // already dead (a duplicate report) or never started
        }

        var dead = _agents[agent];
        long now = _time.GetTimestamp();
        dead.State = CoreAgentState.Dead;
        dead.Stalled = false;
        dead.BeingKilled = false;
        AgentDeaths++;

        foreach (long id in heldTasks)
        {
            if (_tasks.TryGetValue(id, out var t) && t.Slot >= 0)
            {
                LoseAttempt(t, agent, actions);
            }
        }

        while (dead.Head is { } t)
        {
            dead.Detach(t);
            t.LeaseTimedOutOn = -1;
            Reassign(t, actions); // not leased by it (never started there, or its commit is in flight): same attempt
        }

        ScheduleRestart(dead, now, actions);
        if (!AnyAgentAliveOrRestarting())
        {
            FailEverything(actions);
            return;
        }

        if (dead.IsDown)
        {
            ApplyActiveCount(actions); // a standby agent takes the place of one that stays down
        }

        Drain(actions);
    }

    /// <summary>A held task of a dead agent used its attempt: it fails at MaxAttempts, else it is requeued with the next one.</summary>
    private void LoseAttempt(CoreTask t, int agent, List<SchedulerAction> actions)
    {
        bool timedOut = t.LeaseTimedOutOn == agent;
        if (t.Agent >= 0)
        {
            _agents[t.Agent].Detach(t);
        }

        t.LeaseTimedOutOn = -1;
        if (timedOut)
        {
            t.Timeouts++;
        }
        else
        {
            t.Deaths++;
        }

        if (t.Attempt < _options.MaxAttempts)
        {
            t.Attempt++;
            Reassign(t, actions);
            return;
        }

        string reason = timedOut ? LeaseTimeoutReason : AgentDiedReason;
        Fail(t, reason, string.Create(CultureInfo.InvariantCulture,
            $"task {t.Id} failed after {t.Attempt} attempt(s): its agent died {t.Deaths} time(s) and it ran past the lease time-out {t.Timeouts} time(s) (last on agent {agent})"),
            actions);
    }

    /// <summary>Schedules the dead slot's restart after its back-off, or alerts that its restart budget is spent.</summary>
    private void ScheduleRestart(CoreAgent dead, long now, List<SchedulerAction> actions)
    {
        dead.DeathStreak = dead.DeathStreak > 0 && now - dead.LastDeathAt <= _minute ? dead.DeathStreak + 1 : 1;
        dead.LastDeathAt = now;
        if (!_options.RestartDeadAgents)
        {
            return;
        }

        while (dead.RecentRestarts.Count > 0 && now - dead.RecentRestarts.Peek() > _minute)
        {
            dead.RecentRestarts.Dequeue();
        }

        if (dead.RecentRestarts.Count >= _options.MaxRestartsPerMinute)
        {
            actions.Add(new SchedulerAction(SchedulerActionKind.Alert, -1, dead.Index, -1, -1, RestartBudgetExhaustedAlert, string.Create(CultureInfo.InvariantCulture,
                $"agent {dead.Index} died after {dead.RecentRestarts.Count} restart(s) in the last minute (MaxRestartsPerMinute {_options.MaxRestartsPerMinute}); it stays down")));
            return;
        }

        long delay = _backoff;
        for (int i = 1; i < dead.DeathStreak && delay < _backoffMax; i++)
        {
            delay *= 2;
        }

        dead.RestartDueAt = now + Math.Min(delay, _backoffMax);
        _scheduledRestarts++;
    }

    private bool AnyAgentAliveOrRestarting()
    {
        foreach (var agent in _agents)
        {
            if (agent.IsAlive || agent.RestartDueAt != CoreAgent.NoRestart)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Emits StartAgent for a slot: its new process is Starting (eligible) and seen now.</summary>
    private static void StartProcess(CoreAgent agent, long now, List<SchedulerAction> actions)
    {
        agent.State = CoreAgentState.Starting;
        agent.Stalled = false;
        agent.BeingKilled = false;
        agent.StartedAt = now;
        agent.LastSeen = now;
        actions.Add(new SchedulerAction(SchedulerActionKind.StartAgent, -1, agent.Index, -1, -1));
    }

    /// <summary>Starts the restarts that are due; true when any was.</summary>
    private bool StartDueRestarts(long now, List<SchedulerAction> actions)
    {
        bool any = false;
        foreach (var agent in _agents)
        {
            if (agent.RestartDueAt != CoreAgent.NoRestart && now >= agent.RestartDueAt)
            {
                agent.RestartDueAt = CoreAgent.NoRestart;
                _scheduledRestarts--;
                agent.RecentRestarts.Enqueue(now);
                AgentRestarts++;
                StartProcess(agent, now, actions);
                any = true;
            }
        }

        return any;
    }

    /// <summary>Kills (once) every agent holding a task that started more than LeaseTimeout ago; those tasks are
    /// remembered so that its death counts as their lease time-out.</summary>
    private void KillOverdueLeases(long now, List<SchedulerAction> actions)
    {
        foreach (var agent in _agents)
        {
            if (!agent.IsAlive || agent.BeingKilled || agent.Load == agent.Unstarted)
            {
                continue;
            }

            CoreTask? first = null;
            for (var t = agent.Head; t is not null; t = t.NextOnAgent)
            {
                if (t.State == CoreTaskState.Running && now - t.StartedAt > _leaseTimeout)
                {
                    t.LeaseTimedOutOn = agent.Index;
                    first ??= t;
                }
            }

            if (first is not null)
            {
                LeaseTimeouts++;
                Kill(agent, LeaseTimeoutReason, string.Create(CultureInfo.InvariantCulture,
                    $"task {first.Id} ran on agent {agent.Index} for {_time.GetElapsedTime(first.StartedAt, now).TotalSeconds:0.###} s, past the lease time-out of {_options.LeaseTimeout!.Value.TotalSeconds:0.###} s"),
                    actions);
            }
        }
    }

    private static void Kill(CoreAgent agent, string reason, string message, List<SchedulerAction> actions)
    {
        agent.BeingKilled = true;
        actions.Add(new SchedulerAction(SchedulerActionKind.KillAgent, -1, agent.Index, -1, -1, reason, message));
    }

    /// <summary>The agent missed its heartbeats: not eligible, alert, and its unstarted tasks move to eligible agents.</summary>
    private void Stall(CoreAgent agent, long now, List<SchedulerAction> actions)
    {
        agent.Stalled = true;
        Stalls++;
        actions.Add(new SchedulerAction(SchedulerActionKind.Alert, -1, agent.Index, -1, -1, AgentStalledAlert, string.Create(CultureInfo.InvariantCulture,
            $"agent {agent.Index} has not been seen for {_time.GetElapsedTime(agent.LastSeen, now).TotalSeconds:0.###} s; its {agent.Unstarted} unstarted task(s) move to other agents")));
        MoveUnstarted(agent, actions);
    }
}

// Placement: which agent gets a task (least loaded eligible, registered first on ties, then lowest index), the FIFO
// ready queue (tasks without a slot) and the orphan queue (tasks with a slot whose agent died while no agent was
// eligible), both drained whenever a slot frees or an agent becomes eligible; moving unstarted work off stalled
// agents; and the stealing hint (Wake an agent that just went idle while another sits on unstarted work).
namespace Unjucks.Agents.Sessions.Core;

internal sealed partial class SchedulerCore
{
    /// <summary>A task whose dependencies all committed joins the back of the memory queue when it reserves memory,
    /// else of the ready queue.</summary>
    private void MakeReady(CoreTask task)
    {
        task.State = CoreTaskState.Ready;
        if (task.MemoryBytes > 0)
        {
            _memoryQueue.Enqueue(task.Ref);
            _memoryWaiting++;
            _memoryWaitingBytes += task.MemoryBytes;
        }
        else
        {
            _ready.Enqueue(task.Ref);
        }
    }

    /// <summary>Moves tasks from the head of the memory queue to the ready queue while their reservations fit the
    /// budget, reserving as they go; stops at the first that does not fit (first in, first out).</summary>
    private void AdmitByMemory()
    {
        while (_memoryQueue.Count > 0)
        {
            var waiting = _memoryQueue.Peek();
            if (waiting.IsCurrent && waiting.Task.State == CoreTaskState.Ready && !waiting.Task.MemoryReserved)
            {
                var t = waiting.Task;
                if (_memoryReserved + t.MemoryBytes > _options.MemoryBudgetBytes)
                {
                    return;
                }

                _memoryReserved += t.MemoryBytes;
                MemoryReservedPeak = Math.Max(MemoryReservedPeak, _memoryReserved);
                t.MemoryReserved = true;
                _memoryWaiting--;
                _memoryWaitingBytes -= t.MemoryBytes;
                _ready.Enqueue(t.Ref);
            }

            _memoryQueue.Dequeue();
        }
    }

    /// <summary>Places what can be placed now: orphans first (they hold slots), then ready tasks in FIFO order (after
    /// admitting those whose memory now fits).</summary>
    private void Drain(List<SchedulerAction> actions)
    {
        while (_orphans.Count > 0)
        {
            var orphan = _orphans.Peek();
            if (orphan.IsCurrent && orphan.Task.State == CoreTaskState.Orphaned)
            {
                int agent = PickAgent();
                if (agent < 0)
                {
                    break;
                }

                orphan.Task.State = CoreTaskState.Queued;
                _agents[agent].Attach(orphan.Task, running: false);
                actions.Add(new SchedulerAction(SchedulerActionKind.Requeue, orphan.Task.Id, agent, orphan.Task.Slot, orphan.Task.Attempt));
            }

            if (orphan.IsCurrent)
            {
                orphan.Task.InOrphanQueue = false;
            }

            _orphans.Dequeue();
        }

        AdmitByMemory();
        while (_ready.Count > 0)
        {
            var ready = _ready.Peek();
            if (ready.IsCurrent && ready.Task.State == CoreTaskState.Ready)
            {
                if (_slots.FreeCount == 0)
                {
                    break;
                }

                int agent = PickAgent();
                if (agent < 0)
                {
                    break;
                }

                var t = ready.Task;
                t.Slot = _slots.Take();
                t.Attempt = 1;
                t.State = CoreTaskState.Queued;
                _agents[agent].Attach(t, running: false);
                actions.Add(new SchedulerAction(SchedulerActionKind.Place, t.Id, agent, t.Slot, t.Attempt));
            }

            _ready.Dequeue();
        }
    }

    /// <summary>The least loaded eligible agent, a registered one when loads tie, then the lowest index; -1 if none.</summary>
    private int PickAgent()
    {
        CoreAgent? best = null;
        foreach (var agent in _agents)
        {
            if (agent.IsEligible && (best is null || agent.Load < best.Load
                || (agent.Load == best.Load && agent.State == CoreAgentState.Registered && best.State != CoreAgentState.Registered)))
            {
                best = agent;
            }
        }

        return best is null ? -1 : best.Index;
    }

    /// <summary>Requeues a detached task that holds a slot on the best eligible agent, or orphans it until one appears.</summary>
    private void Reassign(CoreTask task, List<SchedulerAction> actions)
    {
        int agent = PickAgent();
        if (agent >= 0)
        {
            task.State = CoreTaskState.Queued;
            _agents[agent].Attach(task, running: false);
            actions.Add(new SchedulerAction(SchedulerActionKind.Requeue, task.Id, agent, task.Slot, task.Attempt));
            return;
        }

        task.State = CoreTaskState.Orphaned;
        if (!task.InOrphanQueue)
        {
            task.InOrphanQueue = true;
            _orphans.Enqueue(task.Ref);
        }
    }

    /// <summary>Moves the stalled agent's unstarted tasks to eligible agents (same slot, same attempt) while there are any.</summary>
    private void MoveUnstarted(CoreAgent stalled, List<SchedulerAction> actions)
    {
        for (var t = stalled.Head; t is not null && stalled.Unstarted > 0;)
        {
            var next = t.NextOnAgent;
            if (t.State == CoreTaskState.Queued)
            {
                int agent = PickAgent();
                if (agent < 0)
                {
                    return;
                }

                stalled.Detach(t);
                _agents[agent].Attach(t, running: false);
                actions.Add(new SchedulerAction(SchedulerActionKind.Requeue, t.Id, agent, t.Slot, t.Attempt));
            }

            t = next;
        }
    }

    /// <summary>An agent became eligible: unstarted tasks left on stalled or standby agents (none was eligible then) move to it.</summary>
    private void RescueStranded(List<SchedulerAction> actions)
    {
        foreach (var agent in _agents)
        {
            if ((agent.Stalled || agent.Standby) && agent.IsAlive && agent.Unstarted > 0)
            {
                MoveUnstarted(agent, actions);
            }
        }
    }

    /// <summary>After a task of <paramref name="agent"/> ended: if it is now idle and eligible while another live agent
    /// has two or more unstarted tasks, wake it so that it steals. The 1-to-0 load transition happens once per idle
    /// period, so this cannot flood.</summary>
    private void WakeIfIdle(int agent, List<SchedulerAction> actions)
    {
        if (agent < 0 || _agents[agent].Load != 0 || !_agents[agent].IsEligible)
        {
            return;
        }

        foreach (var other in _agents)
        {
            if (other.Index != agent && other.IsAlive && other.Unstarted >= 2)
            {
                Wakes++;
                actions.Add(new SchedulerAction(SchedulerActionKind.Wake, -1, agent, -1, -1));
                return;
            }
        }
    }
}

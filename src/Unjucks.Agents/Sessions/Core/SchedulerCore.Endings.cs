// How tasks end: Finish takes an unfinished task out of every structure (agent list, slot, table), Recycle returns
// the instance to the pool (invalidating stale references), Fail emits FailTask and fails the dependents transitively
// ("DependencyFailed", breadth first, in dependency-registration order), and FailEverything is the end of a session
// whose agents are all gone.
using System.Globalization;

namespace Unjucks.Agents.Sessions.Core;

internal sealed partial class SchedulerCore
{
    private const int MaxPooledTasks = 1 << 16;
    private readonly Queue<(CoreTaskRef Task, long FailedDependency)> _cascade = new();

    /// <summary>Detaches the task from its agent, frees its slot and removes it from the table (it stays readable).</summary>
    private void Finish(CoreTask task)
    {
        if (task.Agent >= 0)
        {
            _agents[task.Agent].Detach(task);
        }

        if (task.Slot >= 0)
        {
            _slots.Release(task.Slot);
        }

        if (task.MemoryReserved)
        {
            _memoryReserved -= task.MemoryBytes;
            task.MemoryReserved = false;
        }
        else if (task.MemoryBytes > 0 && task.State == CoreTaskState.Ready)
        {
            _memoryWaiting--; // it ends from the memory queue (every agent gone); its entry there goes stale
            _memoryWaitingBytes -= task.MemoryBytes;
        }

        _tasks.Remove(task.Id);
    }

    /// <summary>Retires the ended task and keeps it for reuse, unless the pool already holds enough (after a burst).</summary>
    private void Recycle(CoreTask task)
    {
        task.Retire();
        if (_pool.Count < MaxPooledTasks)
        {
            _pool.Push(task);
        }
    }

    /// <summary>Ends <paramref name="task"/> failed with its current attempt and fails its dependents, transitively.</summary>
    private void Fail(CoreTask task, string type, string message, List<SchedulerAction> actions)
    {
        long root = task.Id;
        actions.Add(Failure(root, task.Slot, task.Attempt, type, message));
        Finish(task);
        EnqueueDependents(task);
        Recycle(task);
        while (_cascade.Count > 0)
        {
            var (dependent, failed) = _cascade.Dequeue();
            if (!dependent.IsCurrent)
            {
                continue; // already failed through another dependency of this cascade
            }

            var d = dependent.Task;
            string text = failed == root
                ? $"dependency task {root} failed: {type}: {message}"
                : $"dependency task {failed} failed (task {root} failed: {type}: {message})";
            actions.Add(Failure(d.Id, d.Slot, d.Attempt, DependencyFailed, text));
            Finish(d);
            EnqueueDependents(d);
            Recycle(d);
        }
    }

    private void EnqueueDependents(CoreTask task)
    {
        for (int i = 0; i < task.DependentCount; i++)
        {
            _cascade.Enqueue((task.Dependents[i], task.Id));
        }
    }

    /// <summary>No agent is alive or restarting: alert, fail every unfinished task "AgentDied" (in id order) and
    /// remember it so that later submissions fail at once.</summary>
    private void FailEverything(List<SchedulerAction> actions)
    {
        _noAgentsLeft = true;
        var unfinished = new List<CoreTask>(_tasks.Values);
        unfinished.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        actions.Add(new SchedulerAction(SchedulerActionKind.Alert, -1, -1, -1, -1, NoAgentsLeftAlert, string.Create(CultureInfo.InvariantCulture,
            $"every agent died and none is restarting; {unfinished.Count} unfinished task(s) fail and later submissions fail at once")));
        foreach (var t in unfinished)
        {
            actions.Add(Failure(t.Id, t.Slot, t.Attempt, AgentDiedReason, $"task {t.Id} cannot run: every agent died and none is restarting"));
            Finish(t);
        }

        foreach (var t in unfinished)
        {
            Recycle(t);
        }

        _ready.Clear();
        _orphans.Clear();
        _memoryQueue.Clear();
    }
}

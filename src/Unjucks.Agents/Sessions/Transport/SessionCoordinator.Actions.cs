// Carrying out the scheduler core's actions (see SessionCoordinator.cs), shutting down, and the summary.
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Unjucks.Agents.Sessions.Core;
using Unjucks.SharedMemory.Jobs;
using Unjucks.SharedMemory.Sessions;

namespace Unjucks.Agents.Sessions.Transport;

internal sealed partial class SessionCoordinator
{
    private bool _initialStartDone;

    /// <summary>Runs every queued action; actions may add more (a Requeue that finds a lease reports it to the core).</summary>
    private void Execute()
    {
        for (int i = 0; i < _actions.Count; i++)
        {
            var a = _actions[i];
            switch (a.Kind)
            {
                case SchedulerActionKind.Place:
                    Place(a);
                    break;
                case SchedulerActionKind.Requeue:
                    Requeue(a);
                    break;
                case SchedulerActionKind.Wake:
                    _segment.WakeAgent(a.Agent);
                    break;
                case SchedulerActionKind.KillAgent:
                    _options.Logger?.LogWarning("Killing agent {Agent} ({Reason}).", a.Agent, a.ExceptionType);
                    _processes.Kill(a.Agent);
                    break;
                case SchedulerActionKind.Standby:
                    _segment.SetAgentStandby(a.Agent, true); // the mark outlives the process: a restarted agent reads it too.
                    break;
                case SchedulerActionKind.Activate:
                    _segment.SetAgentStandby(a.Agent, false); // also wakes it.
                    break;
                case SchedulerActionKind.StartAgent:
                    StartAgent(a.Agent);
                    break;
                case SchedulerActionKind.FailTask:
                    FailTask(a);
                    break;
                case SchedulerActionKind.Alert:
                    RaiseAlert(a.ExceptionType ?? "Alert", a.Agent, a.Message ?? "");
                    break;
            }
        }

        _actions.Clear();
        // Release: the gauges and AgentSession's properties read these from other threads (the core is this thread's).
        Volatile.Write(ref _memoryReserved, _core.MemoryReserved);
        Volatile.Write(ref _tasksWaitingForMemory, _core.TasksWaitingForMemory);
    }

    private long _memoryReserved;
    private int _tasksWaitingForMemory;

    /// <summary>Bytes of the memory budget the unfinished tasks hold (as of the last batch of decisions).</summary>
    internal long MemoryReserved => Volatile.Read(ref _memoryReserved); // acquire: pairs with Execute's release

    /// <summary>Ready tasks waiting for their reservation to fit the budget (as of the last batch of decisions).</summary>
    internal int TasksWaitingForMemory => Volatile.Read(ref _tasksWaitingForMemory); // acquire: pairs with Execute's release

    private void Place(SchedulerAction a)
    {
        if (!_live.TryGetValue(a.Task, out var h))
        {
            throw new InvalidOperationException($"The scheduler placed task {a.Task}, which is not live.");
        }

        int slot = a.Slot;
        if (_slotTask[slot] is not null)
        {
            throw new InvalidOperationException($"The scheduler placed task {a.Task} in slot {slot}, which holds task {_slotTask[slot]!.Id}.");
        }

        _slotTask[slot] = h;
        h.ReadyTicks = ReadyAt(h);
        // The slot is Free: no agent can lease it, so these plain stores race with nobody; the Place CAS below
        // (a full fence) publishes them to the agent whose lease CAS acquires the word.
        _segment.SlotLong(slot, SessionSegmentLayout.SlotTaskIdOffset) = h.Id;
        _segment.SlotInt(slot, SessionSegmentLayout.SlotAttemptOffset) = a.Attempt;
        _segment.SlotLong(slot, SessionSegmentLayout.SlotPlacedTicksOffset) = Stopwatch.GetTimestamp();
        _segment.SlotLong(slot, SessionSegmentLayout.SlotStartedTicksOffset) = 0;
        WriteTrace(slot, h.TraceParent);
        try
        {
            SlotCodec.WriteInput(_segment, _prefix, slot, h.Payload, h.DependsOn);
            h.ReleaseInput(); // the slot keeps the input for every attempt from now on.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            _core.TaskFailed(h.Id, e.GetType().FullName ?? "IOException", "The task's input could not be written: " + e.Message, _actions);
            return;
        }

        if (!_segment.Table.TryPlace(slot, a.Agent))
        {
            throw new InvalidOperationException($"Slot {slot} was not free for task {h.Id}: {_segment.Table.Read(slot)}.");
        }

        _slotEpochSeen[slot] = _segment.Table.Read(slot).Epoch;
        Push(a.Agent, slot);
    }

    /// <summary>Submitted, and every dependency ended (the core places a task only then).</summary>
    private static long ReadyAt(AgentTaskHandle h)
    {
        long ready = h.SubmittedTicks;
        foreach (var d in h.DependsOn)
        {
            ready = Math.Max(ready, d.EndedTicks);
        }

        return ready;
    }

    private void Requeue(SchedulerAction a)
    {
        int slot = a.Slot;
        if (_slotTask[slot]?.Id != a.Task)
        {
            return; // it ended meanwhile.
        }

        // Recovered (its agent is dead) or Queued: a thief may read the attempt while we write it; an aligned
        // int store is atomic and the value is the one it will run under, so the race is harmless.
        Volatile.Write(ref _segment.SlotInt(slot, SessionSegmentLayout.SlotAttemptOffset), a.Attempt); // release; published again by the Place CAS.
        Volatile.Write(ref _segment.SlotLong(slot, SessionSegmentLayout.SlotPlacedTicksOffset), Stopwatch.GetTimestamp()); // advisory timing.
        if (_segment.Table.TryPlace(slot, a.Agent))
        {
            Push(a.Agent, slot);
            return;
        }

        var w = _segment.Table.Read(slot);
        if (w.State is TaskState.Leased or TaskState.Committing)
        {
            _slotEpochSeen[slot] = w.Epoch;
            _core.TaskStarted(a.Task, w.Agent, _actions);
        }
    }

    private void Push(int agent, int slot)
    {
        // Release (inside TryEnqueue): the slot id after the Place CAS. A full inbox only loses the hint: idle
        // agents scan the table for Queued slots.
        _segment.Inbox(agent).TryEnqueue(slot);
        _segment.WakeAgent(agent);
    }

    private void WriteTrace(int slot, string? traceParent)
    {
        var span = _segment.SlotTrace(slot);
        int length = 0;
        if (traceParent is not null && traceParent.Length <= span.Length && Ascii.IsValid(traceParent))
        {
            length = Encoding.ASCII.GetBytes(traceParent, span);
        }

        _segment.SlotInt(slot, SessionSegmentLayout.SlotTraceLengthOffset) = length;
    }

    private void StartAgent(int agent)
    {
        _segment.ResetAgent(agent);
        _registeredGeneration[agent] = -1;
        try
        {
            _processes.Start(agent);
            if (_initialStartDone)
            {
                _telemetry.AgentRestarts.Add(1);
            }
        }
        catch (InvalidOperationException e)
        {
            if (!_initialStartDone)
            {
                throw; // StartAsync reports it: the program cannot be started at all.
            }

            RaiseAlert("AgentStartFailed", agent, e.Message);
        }
    }

    private void FailTask(SchedulerAction a)
    {
        if (!_live.TryGetValue(a.Task, out var h))
        {
            return;
        }

        if (a.Slot >= 0 && _slotTask[a.Slot] == h)
        {
            FreeSlot(a.Slot);
        }

        _stacks.Remove(a.Task, out string? stack);
        End(h);
        _failed++;
        _telemetry.Failed.Add(1);
        h.Activity?.SetStatus(ActivityStatusCode.Error, a.ExceptionType);
        h.Activity?.Stop();
        h.Fail(new AgentTaskFailedException(a.Task, a.ExceptionType ?? "Unknown", a.Message ?? "", Math.Max(0, a.Attempt), stack));
    }

    private void RaiseAlert(string kind, int agent, string message)
    {
        lock (_alerts)
        {
            _alerts.Add(new AgentSessionAlert(kind, agent, message, _time.GetUtcNow()));
        }

        if (_options.Logger is { } logger)
        {
            logger.LogWarning("Session alert {Kind} (agent {Agent}): {Message}", kind, agent, message);
        }
        else
        {
            Console.Error.WriteLine($"unjucks-agents: {kind}: {message}");
        }
    }

    private void Shutdown()
    {
        try
        {
            _segment.RequestStop();
            _processes.WaitAllThenKill(_options.StopTimeout);
        }
        finally
        {
            foreach (var h in _live.Values.ToArray())
            {
                End(h);
                _failed++;
                h.Activity?.Stop();
                h.Fail(new AgentTaskFailedException(h.Id, AgentTaskFailedException.SessionStopped,
                    Fatal is { } f ? "The session's coordinator failed: " + f.Message : "The session was disposed before the task ended.", 0));
            }

            while (_submissions.TryDequeue(out var h))
            {
                Interlocked.Decrement(ref _inFlight); // counter for the gauge.
                _pendingRelease++; // its window room too, or a submitter waiting for room would wait forever.
                h.Fail(new AgentTaskFailedException(h.Id, AgentTaskFailedException.SessionStopped, "The session was disposed before the task was placed.", 0));
            }

            ReleaseWindow(); // submitters waiting for room wake up and see the session closed.
            _drained?.TrySetResult();
            _processes.Dispose();
            _telemetry.Dispose();
            string path = _segment.FilePath;
            Interlocked.Exchange(ref _closed, 1); // full fence: wakers that registered before it are waited for below.
            var spin = new SpinWait();
            while (Volatile.Read(ref _wakers) != 0) // acquire: pairs with the wakers' decrement.
            {
                spin.SpinOnce();
            }

            _segment.Dispose();
            SessionFiles.DeleteAll(path);
            _stopped.TrySetResult();
        }
    }

    private int AgentsAlive()
    {
        int n = 0;
        for (int i = 0; i < _segment.AgentCount; i++)
        {
            n += _core.IsAgentAlive(i) ? 1 : 0;
        }

        return n;
    }

    private double CurrentOverhead()
    {
        long busy = 0, handler = 0;
        for (int i = 0; i < _segment.AgentCount; i++)
        {
            busy += _segment.AgentBusyNanoseconds(i);
            handler += _segment.AgentHandlerNanoseconds(i);
        }

        double coordinator = Volatile.Read(ref _busyTicks) * 1e9 / Stopwatch.Frequency;
        double total = coordinator + busy;
        return total <= 0 ? 0 : Math.Clamp((coordinator + busy - handler) / total, 0, 1);
    }

    /// <summary>The summary; call on any thread after the session drained (reads loop state that no longer changes).</summary>
    internal AgentSessionSummary Summary()
    {
        var perAgent = new long[_segment.AgentCount];
        for (int i = 0; i < perAgent.Length; i++)
        {
            perAgent[i] = _segment.AgentTasksRun(i);
        }

        double mean = perAgent.Length == 0 ? 0 : perAgent.Average();
        double cv = mean <= 0 ? 0 : Math.Sqrt(perAgent.Select(x => (x - mean) * (x - mean)).Average()) / mean;
        long end = _lastEndTicks > 0 ? _lastEndTicks : Stopwatch.GetTimestamp();
        var elapsed = Stopwatch.GetElapsedTime(_startTicks, end);
        long ended = _completed + _failed;
        lock (_alerts)
        {
            return new AgentSessionSummary
            {
                Completed = _completed,
                Failed = _failed,
                AgentDeaths = _core.AgentDeaths,
                AgentRestarts = _core.AgentRestarts,
                LeaseTimeouts = _core.LeaseTimeouts,
                Stalls = _core.Stalls,
                Steals = _core.Steals,
                Elapsed = elapsed,
                Throughput = elapsed > TimeSpan.Zero ? ended / elapsed.TotalSeconds : 0,
                LatencyP50 = Nanos(_latency, 50),
                LatencyP95 = Nanos(_latency, 95),
                LatencyP99 = Nanos(_latency, 99),
                QueueTimeMean = _queueTime.TotalCount == 0 ? TimeSpan.Zero : TimeSpan.FromTicks((long)(HdrHistogram.HistogramExtensions.GetMean(_queueTime) / 100)),
                QueueTimeP50 = Nanos(_queueTime, 50),
                QueueTimeP99 = Nanos(_queueTime, 99),
                PickupLatencyP50 = Nanos(_pickup, 50),
                PickupLatencyP99 = Nanos(_pickup, 99),
                CoordinationOverhead = CurrentOverhead(),
                LoadCoefficientOfVariation = cv,
                TasksPerAgent = perAgent,
                MemoryBudgetBytes = MemoryBudgetBytes,
                MemoryReservedPeak = _core.MemoryReservedPeak,
                MemoryMeasuredPeak = MemoryMeasuredPeak,
                GcRounds = GcRounds,
                ActiveAgents = _core.ActiveAgents,
                ActiveAgentsHistory = ActiveAgentsHistory,
                Alerts = [.. _alerts],
            };
        }
    }

    private static TimeSpan Nanos(HdrHistogram.LongHistogram h, double percentile) =>
        h.TotalCount == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(h.GetValueAtPercentile(percentile) / 100);
}

// The coordinator side of a session: one long-lived thread that feeds the scheduler core with what it observes
// in the shared segment and in the agent processes, and carries out the core's actions. It decides nothing.
//
// One iteration:
//   1. submissions from SubmitAsync (a ConcurrentQueue) -> core.Submit;
//   2. collect: for every occupied slot, read its state word (acquire): a new lease epoch -> core.TaskStarted; Done ->
//      read the output (inline or spill file), recycle the slot (Done -> Free, a CAS), complete the handle, then
//      core.TaskCommitted / core.TaskFailed (the slot is free BEFORE the core may hand it to the next task);
//   3. liveness: reaped processes -> table.RecoverHeld (their Leased/Committing slots become Recovered, which no
//      agent can lease) -> core.AgentDied; registrations and heartbeat counters -> core events; every 10 ms core.Tick;
//   4. nothing to do: a few yields, then park on the coordinator's futex word (agents wake it after each commit,
//      submitters after each submit; 5 ms timeout).
// Actions: Place writes the input and header into the slot while it is Free (no agent can read it), then the
// Place CAS (Free -> Queued(agent)) publishes them; then the inbox push (release) and a wake of that agent only.
using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;
using Microsoft.Extensions.Logging;
using Unjucks.Agents.Sessions.Core;
using Unjucks.SharedMemory.Jobs;
using Unjucks.SharedMemory.Sessions;

namespace Unjucks.Agents.Sessions.Transport;

internal sealed partial class SessionCoordinator
{
    private static readonly long TickInterval = Stopwatch.Frequency / 100; // 10 ms
    private static readonly long BeatScanInterval = Stopwatch.Frequency / 40; // 25 ms

    private readonly AgentSessionOptions _options;
    private readonly SessionSegment _segment;
    private readonly string _prefix;
    private readonly SchedulerCore _core;
    private readonly IAgentLauncher _processes;
    private readonly SessionTelemetry _telemetry;
    private readonly TimeProvider _time;
    private readonly List<SchedulerAction> _actions = [];
    private readonly List<long> _held = [];
    private readonly List<long> _heldTasks = [];
    private readonly AgentTaskHandle?[] _slotTask;
    private readonly long[] _slotEpochSeen;
    private readonly Dictionary<long, AgentTaskHandle> _live = [];
    private readonly Dictionary<long, string> _stacks = [];
    private readonly ConcurrentQueue<AgentTaskHandle> _submissions = new();
    private readonly long[] _lastBeat;
    private readonly int[] _registeredGeneration;
    private readonly List<AgentSessionAlert> _alerts = [];
    private readonly LongHistogram _latency = new(TimeSpan.FromHours(1).Ticks * 100, 3); // nanoseconds
    private readonly LongHistogram _queueTime = new(TimeSpan.FromHours(1).Ticks * 100, 3); // ready -> started
    private readonly LongHistogram _pickup = new(TimeSpan.FromHours(1).Ticks * 100, 3); // placed -> started
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private TaskCompletionSource? _drained;
    private volatile bool _stopping;
    private long _completed;
    private long _failed;
    private long _busyTicks;
    private long _startTicks;
    private long _lastEndTicks;
    private long _lastTick;
    private long _lastBeatScan;
    private Exception? _fatal;

    internal SessionCoordinator(AgentSessionOptions options, SessionSegment segment)
    {
        _options = options;
        _segment = segment;
        _prefix = SessionFiles.PrefixOf(segment.FilePath);
        _time = options.TimeProvider ?? TimeProvider.System;
        int agents = segment.AgentCount;
        _core = new SchedulerCore(new SchedulerCoreOptions
        {
            Agents = agents,
            Slots = segment.SlotCount,
            MaxAttempts = options.MaxAttempts,
            RestartDeadAgents = options.RestartDeadAgents,
            MaxRestartsPerMinute = options.MaxRestartsPerMinute,
            LeaseTimeout = options.LeaseTimeout,
            StallTimeout = options.StallTimeout,
            StartTimeout = options.StartTimeout,
            MemoryBudgetBytes = options.EffectiveMemoryBudgetBytes,
            ActiveAgents = options.Concurrency?.EffectiveInitialAgents,
        }, _time);
        _adaptive = options.Concurrency is { } concurrency ? new AdaptiveAgentSampler(concurrency, _time) : null;
        _activeAgents = _core.ActiveAgentTarget;
        _activeHistory = _adaptive is null ? [] : [.. _adaptive.History];
        MemoryBudgetBytes = options.EffectiveMemoryBudgetBytes;
        _processes = options.InProcessHandler is { } handler
            ? new AgentThreads(handler, segment.FilePath, agents, options.Logger, WakeLoop)
            : new AgentProcesses(options.AgentProcess, segment.FilePath, agents, options.Logger, WakeLoop);
        _telemetry = new SessionTelemetry(options.MeterFactory, () => InFlight, CurrentOverhead, AgentsAlive,
            () => MemoryReserved, () => TasksWaitingForMemory, () => ActiveAgents, () => MemoryMeasured);
        _slotTask = new AgentTaskHandle?[segment.SlotCount];
        _slotEpochSeen = new long[segment.SlotCount];
        _lastBeat = new long[agents];
        _registeredGeneration = new int[agents];
        Array.Fill(_registeredGeneration, -1);
        Window = new SemaphoreSlim(segment.SlotCount, segment.SlotCount);
        _releaseBatch = Math.Max(1, segment.SlotCount / 4);
        _thread = new Thread(Run) { IsBackground = true, Name = "unjucks-session " + Path.GetFileName(_prefix) };
    }

    private long _inFlight;

    /// <summary>The memory budget in force (0: none).</summary>
    internal long MemoryBudgetBytes { get; }

    /// <summary>Tasks submitted and not yet ended: the in-flight gauge's value.</summary>
    internal long InFlight => Volatile.Read(ref _inFlight); // a snapshot; the Interlocked updates keep it exact
    private int _pendingRelease;
    private readonly int _releaseBatch;
    private int _wakers;
    private int _closed;

    /// <summary>Tasks submitted and not yet ended, at most the slot count (back-pressure for SubmitAsync).</summary>
    internal SemaphoreSlim Window { get; }

    internal SessionSegment Segment => _segment;

    internal int AgentPid(int agent) => _processes.Pid(agent);

    internal Task Stopped => _stopped.Task;

    internal Exception? Fatal => Volatile.Read(ref _fatal); // acquire: pairs with the release in Run's catch.

    /// <summary>Starts the thread; completes once the agents' processes were launched (not registered yet).</summary>
    internal Task StartAsync()
    {
        _thread.Start();
        return _started.Task;
    }

    /// <summary>Any thread: hands a task to the loop.</summary>
    internal void Submit(AgentTaskHandle handle)
    {
        Interlocked.Increment(ref _inFlight); // counter for the in-flight gauge.
        _submissions.Enqueue(handle); // the queue's own release; the loop dequeues with acquire.
        WakeLoop();
    }

    /// <summary>Completes when every submitted task has ended (call after the last submission).</summary>
    internal Task DrainAsync()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.CompareExchange(ref _drained, tcs, null); // publishes the TCS to the loop (full fence).
        WakeLoop();
        return _drained!.Task;
    }

    /// <summary>Asks the loop to stop the agents, fail what is left, and delete the files.</summary>
    internal Task StopAsync()
    {
        _stopping = true; // volatile write (release): the loop sees it on its next iteration.
        WakeLoop();
        return _stopped.Task;
    }

    /// <summary>Any thread: wakes the loop if it is parked. Never touches the mapping once Shutdown closed it:
    /// a waker registers in _wakers first (full fence), then checks _closed; Shutdown sets _closed (full fence),
    /// then waits for _wakers to drain before it unmaps (the store-buffer pairing makes one of them see the other).</summary>
    private void WakeLoop()
    {
        Interlocked.Increment(ref _wakers); // full fence: registration before the _closed check.
        try
        {
            if (Volatile.Read(ref _closed) == 0) // acquire: pairs with Shutdown's Interlocked.Exchange.
            {
                _segment.WakeCoordinator();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _wakers); // full fence: Shutdown may unmap once it reads 0.
        }
    }

    private void Run()
    {
        try
        {
            _startTicks = Stopwatch.GetTimestamp();
            _core.Start(_actions);
            Execute();
            _initialStartDone = true;
            _started.TrySetResult();
            Loop();
        }
        catch (Exception e)
        {
            Volatile.Write(ref _fatal, e); // release: SubmitAsync reads it with acquire.
            _started.TrySetException(e);
            _options.Logger?.LogError(e, "The agent session's coordinator failed; its tasks fail with it.");
        }
        finally
        {
            Shutdown();
        }
    }

    private void Loop()
    {
        int idle = 0;
        while (!_stopping)
        {
            long begin = Stopwatch.GetTimestamp();
            bool progressed = TakeSubmissions();
            progressed |= Collect();
            progressed |= Liveness(begin);
            if (begin - _lastTick >= TickInterval)
            {
                _lastTick = begin;
                _core.Tick(_actions);
                Execute();
                MeasureMemory(begin);
                Adapt();
            }

            if (_drained is { } drained && _live.Count == 0 && _submissions.IsEmpty) // Volatile not needed: the CAS in DrainAsync was a full fence and the loop re-reads each iteration.
            {
                drained.TrySetResult();
            }

            if (_pendingRelease >= _releaseBatch || (!progressed && _pendingRelease > 0))
            {
                ReleaseWindow();
            }

            if (progressed)
            {
                _busyTicks += Stopwatch.GetTimestamp() - begin;
                idle = 0;
                continue;
            }

            if (++idle < 16)
            {
                Thread.Yield();
                continue;
            }

            _segment.ParkCoordinator(NothingToDo, TimeSpan.FromMilliseconds(5));
        }
    }

    private bool NothingToDo()
    {
        if (!_submissions.IsEmpty || _processes.HasExits || _stopping)
        {
            return false;
        }

        for (int s = 0; s < _slotTask.Length; s++)
        {
            if (_slotTask[s] is null)
            {
                continue;
            }

            var w = _segment.Table.Read(s);
            if (w.State == TaskState.Done || (w.State is TaskState.Leased or TaskState.Committing && w.Epoch != _slotEpochSeen[s]))
            {
                return false;
            }
        }

        return true;
    }

    private bool TakeSubmissions()
    {
        bool any = false;
        Span<long> pending = stackalloc long[16];
        while (_submissions.TryDequeue(out var h))
        {
            any = true;
            long? failedDependency = null;
            long[]? big = h.DependsOn.Length > pending.Length ? new long[h.DependsOn.Length] : null;
            Span<long> deps = big ?? pending;
            int n = 0;
            foreach (var d in h.DependsOn)
            {
                if (!d.Ended)
                {
                    deps[n++] = d.Id;
                }
                else if (d.Failed)
                {
                    failedDependency ??= d.Id;
                }
            }

            _live.Add(h.Id, h);
            _core.Submit(h.Id, deps[..n], failedDependency, _actions, h.EstimatedMemoryBytes);
            Execute();
        }

        return any;
    }

    private bool Collect()
    {
        bool any = false;
        var table = _segment.Table;
        for (int s = 0; s < _slotTask.Length; s++)
        {
            var h = _slotTask[s];
            if (h is null)
            {
                continue;
            }

            var w = table.Read(s); // acquire: pairs with the agents' lease and commit CASes.
            if (w.State is TaskState.Leased or TaskState.Committing && w.Epoch != _slotEpochSeen[s])
            {
                _slotEpochSeen[s] = w.Epoch;
                _core.TaskStarted(h.Id, w.Agent, _actions);
                Execute();
                any = true;
            }
            else if (w.State == TaskState.Done && table.TryReadResult(s, out var r))
            {
                Finish(s, h, r);
                any = true;
            }
        }

        return any;
    }

    private void Finish(int slot, AgentTaskHandle h, TaskResult r)
    {
        if (r.Epoch != _slotEpochSeen[slot])
        {
            _slotEpochSeen[slot] = r.Epoch;
            _core.TaskStarted(h.Id, r.Agent, _actions); // a lease we never saw: steal and timing accounting.
        }

        byte[] output;
        bool failed;
        SlotCodec.Failure failure = default;
        try
        {
            output = SlotCodec.ReadOutput(_segment, _prefix, slot, r.Epoch, r.Value, out failed);
            if (failed)
            {
                failure = SlotCodec.DecodeFailure(output);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Unjucks.SharedMemory.SharedRegionFormatException)
        {
            failed = true;
            output = [];
            failure = new SlotCodec.Failure("OutputLost", $"The agent's result could not be read: {e.Message}", null);
        }

        RecordTimings(slot, h);
        FreeSlot(slot);
        if (failed)
        {
            if (failure.StackTrace is not null)
            {
                _stacks[h.Id] = failure.StackTrace;
            }

            _core.TaskFailed(h.Id, failure.Type, failure.Message, _actions);
        }
        else
        {
            End(h);
            h.Complete(output);
            _completed++;
            _telemetry.Completed.Add(1);
            h.Activity?.Stop();
            _core.TaskCommitted(h.Id, _actions);
        }

        Execute();
    }

    private void RecordTimings(int slot, AgentTaskHandle h)
    {
        long placed = Volatile.Read(ref _segment.SlotLong(slot, SessionSegmentLayout.SlotPlacedTicksOffset)); // acquire; the Done CAS ordered it.
        long started = Volatile.Read(ref _segment.SlotLong(slot, SessionSegmentLayout.SlotStartedTicksOffset)); // acquire; written by the leaseholder before its commit.
        if (placed > 0 && started >= placed)
        {
            // One clock for every process (Stopwatch = CLOCK_MONOTONIC), so the agent's start compares with our ticks.
            _pickup.RecordValue((started - placed) * 1_000_000_000 / Stopwatch.Frequency);
            _telemetry.PickupLatency.Record((started - placed) / (double)Stopwatch.Frequency);
            long queued = Math.Max(0, started - h.ReadyTicks);
            _queueTime.RecordValue(queued * 1_000_000_000 / Stopwatch.Frequency);
            _telemetry.QueueTime.Record(queued / (double)Stopwatch.Frequency);
        }
    }

    private void End(AgentTaskHandle h)
    {
        _live.Remove(h.Id);
        long now = Stopwatch.GetTimestamp();
        h.EndedTicks = now;
        _lastEndTicks = now;
        long latency = Math.Max(0, (now - h.SubmittedTicks) * 1_000_000_000 / Stopwatch.Frequency);
        _latency.RecordValue(latency);
        _latencySumNanos += latency;
        _telemetry.Duration.Record((now - h.SubmittedTicks) / (double)Stopwatch.Frequency);
        Interlocked.Decrement(ref _inFlight); // counter for the gauge.
        _pendingRelease++; // room goes back to the submitters in batches (ReleaseWindow), not one by one.
    }

    /// <summary>Gives the window room of ended tasks back at once: a submitter waiting on a full window then resumes
    /// for a quarter of the window instead of one task per wake-up (one thread hop per task costs more than the
    /// task on a small machine). The loop calls it when a quarter has gathered or it has nothing else to do.</summary>
    private void ReleaseWindow()
    {
        if (_pendingRelease > 0)
        {
            Window.Release(_pendingRelease);
            _pendingRelease = 0;
        }
    }

    private void FreeSlot(int slot)
    {
        _slotTask[slot] = null;
        if (!_segment.Table.TryRecycle(slot))
        {
            var w = _segment.Table.Read(slot);
            if (w.State != TaskState.Free)
            {
                throw new InvalidOperationException($"Slot {slot} could not be recycled from {w}; the session's state is inconsistent.");
            }
        }

        if (_segment.SlotInt(slot, SessionSegmentLayout.SlotInputSpilledOffset) != 0)
        {
            File.Delete(SessionFiles.InputSpill(_prefix, slot)); // the name only when there is a file: no string per task.
            _segment.SlotInt(slot, SessionSegmentLayout.SlotInputSpilledOffset) = 0;
        }
    }

    private bool Liveness(long now)
    {
        bool any = false;
        while (_processes.TryTakeExit(out var exit))
        {
            any = true;
            if (exit.Generation != _processes.Generation(exit.Agent))
            {
                continue; // an older process of the slot; its death was handled.
            }

            _held.Clear();
            _heldTasks.Clear();
            _segment.Table.RecoverHeld(exit.Agent, _held);
            foreach (long slot in _held)
            {
                if (_slotTask[slot] is { } h)
                {
                    _heldTasks.Add(h.Id);
                }
            }

            _registeredGeneration[exit.Agent] = -1;
            _telemetry.AgentDeaths.Add(1);
            _options.Logger?.LogWarning("Agent {Agent} exited (code {Code}); {Held} task(s) it held will run again.", exit.Agent, exit.ExitCode, _heldTasks.Count);
            _core.AgentDied(exit.Agent, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_heldTasks), _actions);
            Execute();
        }

        for (int i = 0; i < _registeredGeneration.Length; i++)
        {
            int generation = _processes.Generation(i);
            if (_registeredGeneration[i] != generation && _processes.Pid(i) != 0 && _segment.AgentState(i) == 1 && _segment.AgentGeneration(i) == generation)
            {
                _registeredGeneration[i] = generation;
                _lastBeat[i] = _segment.AgentHeartbeat(i);
                _core.AgentRegistered(i, _actions);
                Execute();
                any = true;
            }
        }

        if (now - _lastBeatScan >= BeatScanInterval)
        {
            _lastBeatScan = now;
            for (int i = 0; i < _lastBeat.Length; i++)
            {
                long beat = _segment.AgentHeartbeat(i);
                if (beat != _lastBeat[i] && _registeredGeneration[i] >= 0)
                {
                    _lastBeat[i] = beat;
                    _core.AgentHeartbeat(i, _actions);
                    Execute();
                }
            }
        }

        return any;
    }
}

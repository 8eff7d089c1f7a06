// One job of a session, driven by the coordinator's monitor thread (the ONLY producer of every agent inbox).
// Per tick:
//   1. liveness: an agent whose process exited, or every LivenessInterval, is probed through the registry
//      (flock-backed IsAlive); a confirmed death runs the recovery protocol: Tasks.Recover(dead), then
//      Stealer(dead).DrainDead and Inbox(dead).DrainDead; the ids go back to the unplaced queue;
//   2. inactive agents (adaptive count): their deques are emptied with TrySteal and the ids re-placed;
//   3. placement: each unplaced id goes to the chosen agent: Tasks.TryPlace(id, a) FIRST (so a recovery of a
//      finds it), then Inbox(a).TryEnqueue(id); TryPlace false = leased or done meanwhile: dropped;
//   4. wake: after a full fence, agents that published Idle are woken (a state-table write bumps the region's
//      change sequence) when work was placed or is stealable (pairs with AgentLoop's Idle-then-recheck);
//   5. stall sweep (armed after a death): no progress for StallSweepInterval -> Tasks.CollectQueued re-places
//      every Queued id (covers ids a dying thief or owner held in no structure; duplicates are harmless: TryLease is a CAS);
//   6. completion: Tasks.CountDone() == task count (checked when the agents' commit counters say so, or every 20 ms).
// Streaming jobs (JobRun.Streaming.cs) feed submitted ids into the same unplaced queue and complete per-id
// completions as Done records appear; automatic GC rounds (JobRun.Gc.cs) start from the same loop.
// Then the job word goes to Complete, live agents acknowledge (FinishedJob == seq) within StopTimeout, results and
// metrics are read from the task table, and the job's segment file and state keys are removed.
using System.Diagnostics;
using System.Text;
using HdrHistogram;
using Unjucks.SharedMemory;
using Unjucks.SharedMemory.Jobs;

namespace Unjucks.Agents.Processes;

/// <summary>The monitor loop of one job (see the file header).</summary>
internal sealed partial class JobRun : IDisposable
{
    private const int IdleYieldTicks = 64;
    private static readonly long DoneScanTicks = Stopwatch.Frequency / 50; // 20 ms.

    private readonly JobCoordinator _owner;
    private readonly SessionControl _control;
    private readonly JobCoordinatorOptions _options;
    private readonly AgentWorker[] _agents;
    private readonly long _seq;
    private readonly int _taskCount;
    private readonly IReadOnlyList<ReadOnlyMemory<byte>>? _payloads;
    private readonly IProgress<JobProgress>? _progress;
    private readonly Queue<long> _unplaced = new();
    private readonly bool[] _queuedHere;
    private readonly AgentCounterSnapshot[] _baseline;
    private readonly int[] _loads;
    private JobSegment? _segment;
    private SharedTaskStealer[] _stealers = [];
    private SharedTaskInbox[] _inboxes = [];
    private SharedMessageQueue? _shared;
    private int _roundRobin;
    private int _deaths;
    private int _leaseTimeouts;
    private long _nextLeaseScan;
    private Dictionary<long, (long Epoch, long Since)> _leases = [];
    private readonly HashSet<int> _endedForLease = [];
    private long _recovered;
    private long _start;

    internal JobRun(JobCoordinator owner, long seq, int taskCount, IReadOnlyList<ReadOnlyMemory<byte>>? payloads, IProgress<JobProgress>? progress, bool streaming = false)
    {
        _streaming = streaming;
        if (streaming)
        {
            _completions = new TaskCompletionSource<long>?[taskCount];
            _hasPayload = new bool[taskCount];
        }

        _owner = owner;
        _control = owner.Control;
        _options = owner.Options;
        _agents = owner.AgentProcesses;
        _seq = seq;
        _taskCount = taskCount;
        _payloads = payloads;
        _progress = progress;
        _queuedHere = new bool[taskCount];
        _baseline = new AgentCounterSnapshot[_agents.Length];
        _loads = new int[_agents.Length];
    }

    private SharedRegion Region => _owner.Region;

    internal JobResult Execute(CancellationToken ct)
    {
        if (_taskCount == 0)
        {
            return EmptyResult();
        }

        Start();
        return RunToEnd(ct);
    }

    /// <summary>Creates the job segment and publishes the job (Running) to the agents; a batch job's ids become unplaced.</summary>
    internal void Start()
    {
        int flags = WritePayloads();
        if (_streaming)
        {
            flags |= SessionControlLayout.JobFlagPayloads; // payloads arrive with submissions; agents read a missing key as empty.
        }

        if (_options.Placement == Placement.SharedQueue)
        {
            _shared = Region.Queue(SessionNames.SharedQueue(_owner.SessionName));
            Span<byte> stale = stackalloc byte[_shared.MaxMessageBytes];
            while (_shared.TryDequeue(stale, out _))
            {
                // Ids left by an earlier job's sweeps; agents would drop them anyway (they carry the old job number).
            }

            flags |= SessionControlLayout.JobFlagSharedQueue;
        }

        _segment = JobSegment.Create(_owner.Directory, SessionNames.JobSegment(_owner.SessionName, _seq), _agents.Length, _options.DequeCapacity, _taskCount, _options.InboxCapacity);
        _stealers = [.. Enumerable.Range(0, _agents.Length).Select(_segment.Stealer)];
        _inboxes = [.. Enumerable.Range(0, _agents.Length).Select(_segment.Inbox)];
        for (int i = 0; i < _agents.Length; i++)
        {
            _baseline[i] = _control.ReadCounters(i);
        }

        for (long id = 0; !_streaming && id < _taskCount; id++)
        {
            _unplaced.Enqueue(id);
            _queuedHere[id] = true;
        }

        _flags = flags;
        _owner.JobStarted();
        _start = Stopwatch.GetTimestamp();
        _control.PublishJob(_seq, JobPhase.Running, _taskCount, flags);
        _owner.Wake();
    }

    /// <summary>Runs the monitor loop until every task is done (streaming: until closed and every submitted task is done), then ends the job.</summary>
    internal JobResult RunToEnd(CancellationToken ct)
    {
        int flags = _flags;
        bool finished = false;
        try
        {
            Monitor(ct);
            finished = true;
        }
        finally
        {
            WaitForGcRound(); // agents paused by a round cannot leave the job.
            _control.PublishJob(_seq, finished ? JobPhase.Complete : JobPhase.Cancelled, _taskCount, flags);
            _owner.Wake();
            WaitForAgentsToLeave();
            if (!finished && _streaming)
            {
                RemoveStreamingKeys();
            }
            else if (!finished)
            {
                // Cancelled or failed: payload keys, and the failure keys of tasks committed as failed (keys are per task id
                // and reused by the next job, so none may be left behind).
                RemoveStateKeys(readFailures: false, out _, CommittedValues());
            }
        }

        return BuildResult();
    }

    private void Monitor(CancellationToken ct)
    {
        long elapsedEnd;
        long nextLiveness = 0, nextProgress = 0, nextDoneScan = 0, nextAdaptive = 0;
        long livenessTicks = Ticks(_options.LivenessInterval), progressTicks = Ticks(_options.ProgressInterval), adaptiveTicks = Ticks(_options.AdaptiveInterval);
        long lastProgressAt = Stopwatch.GetTimestamp();
        int lastDone = 0;
        long adaptiveDone = 0, adaptiveAt = _start;
        AgentCounterSnapshot adaptiveSum = default;
        int idleTicks = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            bool closed = _streaming && Volatile.Read(ref _closed) != 0; // acquire, BEFORE draining: pairs with Close's release (ids submitted before it are in the queue).
            bool drained = _streaming && DrainSubmissions();
            long now = Stopwatch.GetTimestamp();
            if (now >= nextLiveness || _agents.Any(a => !a.Dead && a.HasExited))
            {
                nextLiveness = now + livenessTicks;
                CheckLiveness();
            }

            if (_options.LeaseTimeout is { } leaseTimeout && now >= _nextLeaseScan)
            {
                _nextLeaseScan = now + Math.Min(Ticks(leaseTimeout) / 4, Stopwatch.Frequency / 4);
                EndHungAgents(now, Ticks(leaseTimeout));
            }

            ReclaimFromInactive();
            MaybeStartGcRound(now, ct);
            int placed = Place();
            WakeIfIdle(placed);

            long commitsHint = 0;
            for (int i = 0; i < _agents.Length; i++)
            {
                commitsHint += _control.ReadCounter(i, SessionControlLayout.CommitsOffset) - _baseline[i].Commits;
            }

            if (_streaming)
            {
                bool timer = now >= nextDoneScan;
                if (commitsHint > _observedDone || timer)
                {
                    if (timer)
                    {
                        nextDoneScan = now + DoneScanTicks;
                    }

                    // A hint-driven scan stops once it has found as many Done records as the agents published commits; the
                    // timer scan (every 20 ms) looks at every outstanding id (a dead agent may have committed without publishing).
                    if (ScanCompletions(timer ? long.MaxValue : commitsHint) > 0)
                    {
                        lastProgressAt = now;
                        drained = true;
                    }
                }

                lastDone = (int)_observedDone;
                if (closed && _outstanding.Count == 0)
                {
                    CheckLiveness(); // report a death that happened at the very end, too.
                    elapsedEnd = Stopwatch.GetTimestamp();
                    break;
                }

                if (timer && _deaths > 0 && _unplaced.Count == 0 && _outstanding.Count > 0 && now - lastProgressAt > Ticks(_options.StallSweepInterval))
                {
                    lastProgressAt = now;
                    var ids = new List<long>();
                    _segment!.Tasks.CollectQueued(ids);
                    Requeue(ids);
                }
            }
            else if (commitsHint >= _taskCount || now >= nextDoneScan)
            {
                nextDoneScan = now + DoneScanTicks;
                int done = _segment!.Tasks.CountDone();
                if (done != lastDone)
                {
                    lastDone = done;
                    lastProgressAt = now;
                }

                if (done == _taskCount)
                {
                    CheckLiveness(); // report a death that happened at the very end, too.
                    elapsedEnd = Stopwatch.GetTimestamp();
                    break;
                }

                if (_deaths > 0 && _unplaced.Count == 0 && now - lastProgressAt > Ticks(_options.StallSweepInterval))
                {
                    lastProgressAt = now;
                    var ids = new List<long>();
                    _segment.Tasks.CollectQueued(ids);
                    Requeue(ids);
                }
            }

            if (_progress is not null && now >= nextProgress)
            {
                nextProgress = now + progressTicks;
                _progress.Report(Snapshot(lastDone));
            }

            if (_owner.Controller is not null && adaptiveTicks > 0 && now >= nextAdaptive)
            {
                if (nextAdaptive != 0)
                {
                    var sum = SumCounters();
                    double seconds = (now - adaptiveAt) / (double)Stopwatch.Frequency;
                    long commits = sum.Commits - adaptiveSum.Commits;
                    double meanTicks = commits > 0 ? (sum.HandlerTicks - adaptiveSum.HandlerTicks) / (double)commits : 0;
                    _owner.RecordSample(new ConcurrencySample(
                        (lastDone - adaptiveDone) / seconds,
                        TimeSpan.FromSeconds(meanTicks / Stopwatch.Frequency),
                        Math.Clamp(_options.MemoryPressure?.Invoke() ?? 0, 0, 1),
                        _owner.ActiveAgentCount));
                    adaptiveSum = sum;
                    adaptiveDone = lastDone;
                    adaptiveAt = now;
                }
                else
                {
                    adaptiveSum = SumCounters();
                }

                nextAdaptive = now + adaptiveTicks;
            }

            // Nothing placed: yield a few rounds (a finishing agent frees room within microseconds), then sleep 1 ms
            // per round so that a long job costs the coordinator almost no CPU.
            idleTicks = placed == 0 && !drained ? idleTicks + 1 : 0;
            if (idleTicks > IdleYieldTicks && _streaming)
            {
                WaitForSubmission(); // up to 1 ms; a Submit or CompleteAsync ends it at once.
            }
            else if (idleTicks > IdleYieldTicks)
            {
                Thread.Sleep(1);
            }
            else
            {
                Thread.Yield();
            }
        }

        _elapsed = Stopwatch.GetElapsedTime(_start, elapsedEnd);
    }

    private TimeSpan _elapsed;

    private AgentCounterSnapshot SumCounters()
    {
        AgentCounterSnapshot s = default;
        for (int i = 0; i < _agents.Length; i++)
        {
            var c = _control.ReadCounters(i).Minus(_baseline[i]);
            s = new AgentCounterSnapshot(s.Commits + c.Commits, 0, 0, 0, 0, 0, s.HandlerTicks + c.HandlerTicks, 0, 0);
        }

        return s;
    }

    private void CheckLiveness()
    {
        foreach (AgentWorker a in _agents)
        {
            if (a.Dead || Region.Agents.IsAlive(a.RegistrySlot))
            {
                continue;
            }

            // Confirmed dead (its flock is free, or its pid is gone / reused): the precondition of Recover.
            a.Dead = true;
            _deaths++;
            var ids = new List<long>();
            _segment!.Tasks.Recover(a.Index, ids);
            _stealers[a.Index].DrainDead(ids);
            _inboxes[a.Index].DrainDead(ids); // we are the inbox's producer; its consumer is dead.
            Requeue(ids);
            if (_control.IsActive(a.Index))
            {
                _owner.SetActiveAgentCount(_owner.ActiveAgentCount); // hands the dead agent's active place to a live one.
            }
        }

        if (_agents.All(a => a.Dead))
        {
            throw new InvalidOperationException(
                $"Every agent of session '{_owner.SessionName}' died during job {_seq}; {_segment!.Tasks.CountDone()} of {_taskCount} tasks are done. Check the agents' logs; start a new coordinator.");
        }
    }

    /// <summary>
    /// Lease time-out: notes when each lease (task, epoch) was first seen, and ends every agent holding a lease seen for
    /// longer than <paramref name="timeoutTicks"/>; the liveness check then recovers its tasks like any dead agent's.
    /// Ages are measured from this coordinator's first sighting, never from the agent's pickup stamp (written after the
    /// lease CAS, so briefly stale), which can only make a lease look younger, never older.
    /// </summary>
    private void EndHungAgents(long now, long timeoutTicks)
    {
        var table = _segment!.Tasks;
        var seen = new Dictionary<long, (long Epoch, long Since)>(_leases.Count);
        List<int>? hung = null;
        int count = _streaming ? _outstanding.Count : _taskCount;
        for (int i = 0; i < count; i++)
        {
            long id = _streaming ? _outstanding[i] : i;
            var w = table.Read(id); // acquire load of the state word
            if (w.State != TaskState.Leased)
            {
                continue;
            }

            var since = _leases.TryGetValue(id, out var old) && old.Epoch == w.Epoch ? old.Since : now;
            seen[id] = (w.Epoch, since);
            if (now - since >= timeoutTicks && (uint)w.Agent < (uint)_agents.Length && !_agents[w.Agent].Dead && _endedForLease.Add(w.Agent))
            {
                (hung ??= []).Add(w.Agent);
            }
        }

        _leases = seen;
        if (hung is null)
        {
            return;
        }

        foreach (int agent in hung)
        {
            _leaseTimeouts++;
            _agents[agent].Kill(); // bounded wait for the exit; its flock goes with it
        }

        CheckLiveness();
    }

    private void Requeue(List<long> ids)
    {
        foreach (long id in ids)
        {
            if ((ulong)id < (ulong)_taskCount && !_queuedHere[id])
            {
                _queuedHere[id] = true;
                _unplaced.Enqueue(id);
                _recovered++;
            }
        }
    }

    private void ReclaimFromInactive()
    {
        List<long>? ids = null;
        foreach (AgentWorker a in _agents)
        {
            if (a.Dead || _control.IsActive(a.Index))
            {
                continue;
            }

            while (_stealers[a.Index].TrySteal(out long id))
            {
                (ids ??= []).Add(id);
            }
        }

        if (ids is not null)
        {
            foreach (long id in ids)
            {
                if ((ulong)id < (ulong)_taskCount && !_queuedHere[id])
                {
                    _queuedHere[id] = true;
                    _unplaced.Enqueue(id);
                }
            }
        }
    }

    private bool Eligible(int i) => !_agents[i].Dead && _control.IsActive(i);

    private int Place()
    {
        if (_unplaced.Count == 0)
        {
            return 0;
        }

        if (_shared is not null)
        {
            return PlaceShared();
        }

        int cap = _options.MaxQueuedPerAgent > 0 ? _options.MaxQueuedPerAgent : _options.DequeCapacity;
        for (int i = 0; i < _agents.Length; i++)
        {
            _loads[i] = Eligible(i) ? _stealers[i].Count + _inboxes[i].Count : int.MaxValue;
        }

        int placed = 0;
        var table = _segment!.Tasks;
        while (_unplaced.Count > 0)
        {
            int target = Choose(cap);
            if (target < 0)
            {
                break;
            }

            long id = _unplaced.Dequeue();
            _queuedHere[id] = false;
            if (!table.TryPlace(id, target))
            {
                continue; // leased or done meanwhile (a recovered duplicate): the table is the truth.
            }

            if (!_inboxes[target].TryEnqueue(id))
            {
                // Cannot happen (room checked through the load cap: the inbox holds at most cap ids); keep the id anyway.
                _queuedHere[id] = true;
                _unplaced.Enqueue(id);
                _loads[target] = int.MaxValue;
                continue;
            }

            _loads[target]++;
            placed++;
        }

        return placed;
    }

    /// <summary>SharedQueue baseline: Queued(pseudo-agent) in the table, then one 16-byte message (job, id) in the shared queue.</summary>
    private int PlaceShared()
    {
        if (!_agents.Any(a => Eligible(a.Index)))
        {
            return 0;
        }

        var table = _segment!.Tasks;
        Span<byte> message = stackalloc byte[16];
        BitConverter.TryWriteBytes(message, _seq);
        int placed = 0;
        while (_unplaced.Count > 0)
        {
            long id = _unplaced.Peek();
            // Placed on a pseudo-agent no process uses (JobSegmentLayout.MaxAgents < MaxAgent + 1), so Recover(dead)
            // never touches ids that still sit in the shared queue; a dead agent's dequeued ids are in its deque or
            // Leased(dead), both recovered; an id a dying agent held in no structure is found by the stall sweep.
            if (!table.TryPlace(id, SharedQueueAgent))
            {
                _unplaced.Dequeue();
                _queuedHere[id] = false;
                continue;
            }

            BitConverter.TryWriteBytes(message[8..], id);
            if (!_shared!.TryEnqueue(message))
            {
                break; // full: the id stays Queued and unplaced; the next round re-places it (Queued -> Queued).
            }

            _unplaced.Dequeue();
            _queuedHere[id] = false;
            placed++;
        }

        return placed;
    }

    /// <summary>The pseudo-agent that SharedQueue placement queues tasks on.</summary>
    internal const int SharedQueueAgent = TaskStateWord.MaxAgent;

    private int Choose(int cap)
    {
        int n = _agents.Length;
        int inboxCap = _inboxes[0].Capacity;
        bool Fits(int i) => _loads[i] < cap && _loads[i] < inboxCap;
        switch (_options.Placement)
        {
            case Placement.SingleAgent:
                for (int i = 0; i < n; i++)
                {
                    if (_loads[i] != int.MaxValue)
                    {
                        return Fits(i) ? i : -1; // the lowest eligible agent only.
                    }
                }

                return -1;
            case Placement.RoundRobin:
                for (int k = 0; k < n; k++)
                {
                    int i = (_roundRobin + k) % n;
                    if (_loads[i] != int.MaxValue && Fits(i))
                    {
                        _roundRobin = i + 1;
                        return i;
                    }
                }

                return -1;
            default:
                int best = -1;
                for (int i = 0; i < n; i++)
                {
                    if (_loads[i] != int.MaxValue && Fits(i) && (best < 0 || _loads[i] < _loads[best]))
                    {
                        best = i;
                    }
                }

                return best;
        }
    }

    private void WakeIfIdle(int placed)
    {
        // Full fence (store-load): our inbox enqueues above precede the reads of the agents' run states below;
        // pairs with the agent's Interlocked.Exchange of Idle before its last look at its queues.
        Interlocked.MemoryBarrier();
        bool idle = false, stealable = placed > 0 || _shared?.Count > 0;
        for (int i = 0; i < _agents.Length && !(idle && stealable); i++)
        {
            if (_agents[i].Dead)
            {
                continue;
            }

            idle |= _control.RunState(i) == AgentRunState.Idle;
            stealable |= _stealers[i].Count > 1;
        }

        if (idle && stealable)
        {
            _owner.Wake();
        }
    }

    private JobProgress Snapshot(int done)
    {
        var agents = new AgentProgress[_agents.Length];
        for (int i = 0; i < agents.Length; i++)
        {
            AgentWorker a = _agents[i];
            var c = _control.ReadCounters(i).Minus(_baseline[i]);
            agents[i] = new AgentProgress(i, a.RegistrySlot, a.Pid, !a.Dead, _control.IsActive(i), _control.RunState(i), c.Commits, c.Steals,
                a.Dead ? 0 : _stealers[i].Count, a.Dead ? 0 : _inboxes[i].Count);
        }

        return new JobProgress(_seq, done, _streaming ? (int)Volatile.Read(ref _next) /* acquire; pairs with Submit */ : _taskCount, _unplaced.Count, Stopwatch.GetElapsedTime(_start), agents);
    }

    private void WaitForAgentsToLeave()
    {
        long deadline = Stopwatch.GetTimestamp() + Ticks(_options.StopTimeout);
        foreach (AgentWorker a in _agents)
        {
            while (!a.Dead && !a.HasExited && _control.FinishedJob(a.Index) != _seq && Stopwatch.GetTimestamp() < deadline)
            {
                Thread.Sleep(1);
            }
        }
    }

    private int WritePayloads()
    {
        if (_payloads is null)
        {
            return 0;
        }

        bool any = false;
        for (int id = 0; id < _payloads.Count; id++)
        {
            if (_payloads[id].Length > 0)
            {
                try
                {
                    Region.State.Write(SessionNames.PayloadKey(_owner.SessionName, id), _payloads[id].Span);
                }
                catch (SharedRegionFullException e)
                {
                    RemoveStateKeys(readFailures: false, out _);
                    throw new InvalidOperationException(
                        $"The region's state table is full after {id} of {_payloads.Count} payloads; start the coordinator with a larger JobCoordinatorOptions.StateSlots (payloads + failures per job).", e);
                }

                any = true;
            }
        }

        return any ? SessionControlLayout.JobFlagPayloads : 0;
    }

    /// <summary>Deletes the job's payload keys and failure keys (reading the failure messages first when asked).</summary>
    private void RemoveStateKeys(bool readFailures, out Dictionary<long, string> failures, long[]? results = null)
    {
        failures = [];
        if (_payloads is not null)
        {
            for (int id = 0; id < _payloads.Count; id++)
            {
                if (_payloads[id].Length > 0)
                {
                    Region.State.TryDelete(SessionNames.PayloadKey(_owner.SessionName, id), 0);
                }
            }
        }

        if (results is null)
        {
            return;
        }

        byte[] buffer = new byte[Region.State.MaxValueBytes];
        for (long id = 0; id < results.Length; id++)
        {
            if (results[id] != JobResult.FailedResult)
            {
                continue;
            }

            string key = SessionNames.FailureKey(_owner.SessionName, id);
            if (readFailures)
            {
                failures[id] = Region.State.TryRead(key, buffer, out int length, out _) ? Encoding.UTF8.GetString(buffer, 0, length) : "(message lost)";
            }

            Region.State.TryDelete(key, 0);
        }
    }

    /// <summary>The committed value of every task of a batch job (0 for tasks not Done).</summary>
    private long[] CommittedValues()
    {
        long[] values = new long[_taskCount];
        for (long id = 0; id < values.Length; id++)
        {
            values[id] = _segment!.Tasks.TryReadResult(id, out TaskResult r) ? r.Value : 0;
        }

        return values;
    }

    private JobResult BuildResult()
    {
        var table = _segment!.Tasks;
        int n = _streaming ? (int)Volatile.Read(ref _next) : _taskCount; // acquire; closed: no Submit runs any more.
        long[] results = new long[n];
        int[] executedBy = new int[n];
        long[] perAgent = new long[_agents.Length];
        var execution = new LongHistogram(TimeStamp.Hours(1), 3);
        var queue = new LongHistogram(TimeStamp.Hours(1), 3);
        for (long id = 0; id < n; id++)
        {
            if (!table.TryReadResult(id, out TaskResult r))
            {
                throw new InvalidOperationException($"Task {id} of job {_seq} is not Done after the job completed; this is a bug in the coordinator.");
            }

            results[id] = r.Value;
            executedBy[id] = r.Agent;
            if ((uint)r.Agent < (uint)perAgent.Length)
            {
                perAgent[r.Agent]++;
            }

            execution.RecordValue(Math.Max(0, r.CompletedTicks - r.PickupTicks));
            queue.RecordValue(Math.Max(0, r.PickupTicks - r.PlacedTicks));
        }

        Dictionary<long, string> failures;
        if (_streaming)
        {
            failures = _failures; // read (and their keys deleted) as each task completed.
        }
        else
        {
            RemoveStateKeys(readFailures: true, out failures, results);
        }

        var stats = new AgentJobStats[_agents.Length];
        double attached = 0, overhead = 0;
        long steals = 0;
        var survivors = new List<double>();
        for (int i = 0; i < stats.Length; i++)
        {
            AgentWorker a = _agents[i];
            var c = _control.ReadCounters(i).Minus(_baseline[i]);
            bool active = _control.IsActive(i);
            stats[i] = new AgentJobStats(i, a.Pid, a.RegistrySlot, !a.Dead, active, perAgent[i], c.Commits, c.LostCommits, c.Failures,
                c.Steals, c.StolenIds, c.StealAttempts, FromTicks(c.HandlerTicks), FromTicks(c.LoopTicks), FromTicks(c.ParkedTicks));
            steals += c.Steals;
            attached += c.LoopTicks;
            overhead += Math.Max(0, c.LoopTicks - c.HandlerTicks - c.ParkedTicks);
            if (!a.Dead && active)
            {
                survivors.Add(perAgent[i]);
            }
        }

        double mean = survivors.Count > 0 ? survivors.Average() : 0;
        double cv = mean > 0 ? Math.Sqrt(survivors.Sum(x => (x - mean) * (x - mean)) / survivors.Count) / mean : 0;
        IReadOnlyList<Gc.GcRoundResult> gcRounds = _owner.TakeGcRounds(); // before TakeActiveChanges ends the job's recording.
        var summary = new JobSummary(
            n,
            _elapsed,
            _elapsed > TimeSpan.Zero ? n / _elapsed.TotalSeconds : 0,
            Summarize(execution),
            Summarize(queue),
            FromTicks(queue.GetValueAtPercentile(50)),
            FromTicks(queue.GetValueAtPercentile(95)),
            steals,
            cv,
            attached > 0 ? overhead / attached : 0,
            _deaths,
            _recovered,
            failures.Count,
            stats,
            _owner.TakeActiveChanges()) { GcRounds = gcRounds, LeaseTimeouts = _leaseTimeouts };
        return new JobResult(_seq, results, executedBy, failures, summary);
    }

    private JobResult EmptyResult()
    {
        var zero = new LatencySummary(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
        var stats = _agents.Select(a => new AgentJobStats(a.Index, a.Pid, a.RegistrySlot, !a.Dead, _control.IsActive(a.Index), 0, 0, 0, 0, 0, 0, 0, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero)).ToArray();
        return new JobResult(_seq, [], [], new Dictionary<long, string>(),
            new JobSummary(0, TimeSpan.Zero, 0, zero, zero, TimeSpan.Zero, TimeSpan.Zero, 0, 0, 0, 0, 0, 0, stats, []));
    }

    private static LatencySummary Summarize(LongHistogram h) => h.TotalCount == 0
        ? new LatencySummary(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero)
        : new LatencySummary(FromTicks(h.GetValueAtPercentile(50)), FromTicks(h.GetValueAtPercentile(95)), FromTicks(h.GetValueAtPercentile(99)),
            FromTicks(h.GetMaxValue()), FromTicks((long)h.GetMean()));

    private static TimeSpan FromTicks(long ticks) => TimeSpan.FromSeconds(ticks / (double)Stopwatch.Frequency);

    private static long Ticks(TimeSpan t) => (long)(t.TotalSeconds * Stopwatch.Frequency);

    public void Dispose()
    {
        _submitSignal.Dispose();
        if (_segment is not null)
        {
            _segment.Dispose();
            if (!_options.KeepFiles)
            {
                JobSegment.Delete(_owner.Directory, SessionNames.JobSegment(_owner.SessionName, _seq));
            }
        }
    }
}

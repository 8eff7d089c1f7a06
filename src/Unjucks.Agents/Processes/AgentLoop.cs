// The agent's loop over a session's jobs. One thread owns the agent's deque (SharedTaskDeque: owner-only Push and
// TryPop) and is the only consumer of its inbox (SharedTaskInbox, SPSC from the coordinator).
//
// Per job (docs/agent-processes.md, "Agent loop"):
//   1. move ids from the inbox into the own deque (as room allows);
//   2. pop; lease in the task table RIGHT AFTER the pop, before any push (the deque's failure-window contract);
//      a failed lease means another agent leased or finished it: skip (the table is the truth);
//   3. run the handler; an exception commits FailedResult and records the message under the failure key;
//   4. TryCommit (CAS on the lease); a refused commit (lease revoked/recovered) is counted and dropped;
//   5. when dry, StealBatch from the most loaded other deque;
//   6. when nothing is anywhere: publish Idle (full fence), re-check, then park on the region's change sequence.
//      The coordinator enqueues, fences, reads Idle and bumps the sequence (Dekker pairing: one side sees the other).
// Inactive (adaptive agent count): the agent keeps moving its inbox into its deque (the coordinator steals the ids
// back and re-places them) but pops and steals nothing, and parks.
using System.Diagnostics;
using System.Text;
using Unjucks.SharedMemory;
using Unjucks.SharedMemory.Jobs;

namespace Unjucks.Agents.Processes;

/// <summary>The loop of one agent process (see the file header).</summary>
internal sealed class AgentLoop
{
    private const int IdleSpinRounds = 64;
    private static readonly long PublishEveryTicks = Stopwatch.Frequency / 200; // 5 ms.

    private readonly SharedRegion _region;
    private readonly SessionControl _control;
    private readonly AgentHostOptions _options;
    private readonly ITaskHandler _handler;
    private readonly ISafePoint _safePoint;
    private readonly int _me;
    private readonly string _session;
    private readonly long _coordinatorCheckTicks;
    private readonly byte[] _payloadBuffer;

    // Cumulative counters (published to the control file by this thread only).
    private long _commits, _lostCommits, _failures, _steals, _stolenIds, _stealAttempts, _handlerTicks, _loopTicks, _parkedTicks;
    private long _lastPublish;
    private long _nextCoordinatorCheck;

    internal AgentLoop(SharedRegion region, SessionControl control, AgentHostOptions options, ITaskHandler handler, ISafePoint safePoint)
    {
        _region = region;
        _control = control;
        _options = options;
        _handler = handler;
        _safePoint = safePoint;
        _me = options.Launch.AgentIndex;
        _session = options.Launch.SessionName;
        _coordinatorCheckTicks = (long)(options.CoordinatorCheckInterval.TotalSeconds * Stopwatch.Frequency);
        _payloadBuffer = new byte[region.State.MaxValueBytes];
    }

    internal async Task RunAsync(CancellationToken ct)
    {
        long lastJob = 0;
        while (!ct.IsCancellationRequested && !_control.StopRequested && CoordinatorAlive())
        {
            var (seq, phase) = SessionControlLayout.UnpackJob(_control.JobWord);
            if (seq != lastJob && seq != 0)
            {
                if (phase == JobPhase.Running)
                {
                    await RunJobAsync(seq, ct).ConfigureAwait(false);
                }

                lastJob = seq;
                Publish();
                _control.SetFinishedJob(_me, seq); // release: the counters above are visible with it.
                continue;
            }

            _control.SetRunState(_me, AgentRunState.WaitingForJob);
            long seen = _region.ChangeSequence; // read BEFORE the re-check below, so a later publish+bump wakes us.
            if (SessionControlLayout.UnpackJob(_control.JobWord).Seq != lastJob || _control.StopRequested)
            {
                continue;
            }

            _region.WaitForChange(seen, _options.IdleParkTimeout, ct);
            _safePoint.AtSafePoint(ct);
        }
    }

    private bool CoordinatorAlive()
    {
        long now = Stopwatch.GetTimestamp();
        if (now - _nextCoordinatorCheck < 0)
        {
            return true;
        }

        _nextCoordinatorCheck = now + _coordinatorCheckTicks;
        int slot = _control.CoordinatorSlot;
        return slot < 0 || _region.Agents.IsAlive(slot);
    }

    private async Task RunJobAsync(long seq, CancellationToken ct)
    {
        JobSegment segment;
        try
        {
            segment = JobSegment.Open(_options.Launch.Directory, SessionNames.JobSegment(_session, seq), _options.AttachTimeout);
        }
        catch (FileNotFoundException)
        {
            return; // the job ended (and its segment was deleted) before we looked.
        }

        using (segment)
        {
            var own = segment.Deque(_me);
            var inbox = segment.Inbox(_me);
            var table = segment.Tasks;
            var stealers = new SharedTaskStealer[segment.AgentCount];
            for (int j = 0; j < stealers.Length; j++)
            {
                stealers[j] = segment.Stealer(j);
            }

            int flags = _control.JobFlags;
            bool payloads = (flags & SessionControlLayout.JobFlagPayloads) != 0;
            SharedMessageQueue? shared = (flags & SessionControlLayout.JobFlagSharedQueue) != 0 ? _region.Queue(SessionNames.SharedQueue(_session)) : null;
            long attachedAt = Stopwatch.GetTimestamp();
            long loopBase = _loopTicks;
            int idleRounds = 0;
            _control.SetRunState(_me, AgentRunState.Running);
            while (!ct.IsCancellationRequested)
            {
                long word = _control.JobWord;
                if (word != SessionControlLayout.PackJob(seq, JobPhase.Running) || _control.StopRequested)
                {
                    break;
                }

                _loopTicks = loopBase + (Stopwatch.GetTimestamp() - attachedAt);
                MaybePublish();
                _safePoint.AtSafePoint(ct);
                if (!CoordinatorAlive())
                {
                    break;
                }

                MoveInbox(own, inbox);
                if (!_control.IsActive(_me))
                {
                    _control.SetRunState(_me, AgentRunState.Parked);
                    Park(word, ct);
                    continue;
                }

                if (own.TryPop(out long id))
                {
                    idleRounds = 0;
                    if (table.TryLease(id, _me, out long epoch))
                    {
                        await ExecuteAsync(table, seq, id, epoch, payloads, ct).ConfigureAwait(false);
                    }

                    continue;
                }

                if (shared is not null ? TryTakeShared(shared, own, seq, table.Capacity) : TrySteal(stealers, own))
                {
                    idleRounds = 0;
                    continue;
                }

                if (++idleRounds < IdleSpinRounds)
                {
                    Thread.Yield();
                    continue;
                }

                // Publish Idle with a full fence BEFORE the last look at the queues; the coordinator enqueues,
                // fences, then reads our state (SessionControl.SetRunState / JobRun.WakeIfIdle).
                long seen = _region.ChangeSequence;
                _control.SetRunState(_me, AgentRunState.Idle);
                if (inbox.Count > 0 || own.Count > 0 || (shared is null ? AnyStealable(stealers) : shared.Count > 0) || _control.JobWord != word || !_control.IsActive(_me))
                {
                    _control.SetRunState(_me, AgentRunState.Running);
                    idleRounds = 0;
                    continue;
                }

                long t0 = Stopwatch.GetTimestamp();
                _region.WaitForChange(seen, _options.IdleParkTimeout, ct);
                _parkedTicks += Stopwatch.GetTimestamp() - t0;
                _control.SetRunState(_me, AgentRunState.Running);
                idleRounds = IdleSpinRounds / 2;
            }

            _loopTicks = loopBase + (Stopwatch.GetTimestamp() - attachedAt);
            _control.SetRunState(_me, AgentRunState.WaitingForJob);
        }
    }

    private void Park(long jobWord, CancellationToken ct)
    {
        long seen = _region.ChangeSequence; // before the re-check: a SetActive + wake after it ends the wait.
        if (_control.IsActive(_me) || _control.JobWord != jobWord)
        {
            return;
        }

        long t0 = Stopwatch.GetTimestamp();
        _region.WaitForChange(seen, _options.IdleParkTimeout, ct);
        _parkedTicks += Stopwatch.GetTimestamp() - t0;
        if (_control.IsActive(_me))
        {
            _control.SetRunState(_me, AgentRunState.Running);
        }
    }

    private static void MoveInbox(SharedTaskDeque own, SharedTaskInbox inbox)
    {
        int room = own.Capacity - own.Count;
        while (room-- > 0 && inbox.TryDequeue(out long id))
        {
            own.Push(id); // room checked above; only this thread pushes, thieves only shrink the deque.
        }
    }

    private bool TrySteal(SharedTaskStealer[] stealers, SharedTaskDeque own)
    {
        int victim = -1, most = 0;
        for (int j = 0; j < stealers.Length; j++)
        {
            int c = j == _me ? 0 : stealers[j].Count;
            if (c > most)
            {
                (victim, most) = (j, c);
            }
        }

        if (victim < 0)
        {
            return false;
        }

        _stealAttempts++;
        int n = stealers[victim].StealBatch(own, TaskDequeLayout.MaxStealBatch);
        if (n == 0)
        {
            return false;
        }

        _steals++;
        _stolenIds += n;
        return true;
    }

    /// <summary>SharedQueue baseline: one id from the shared queue into the own deque (popped and leased next).</summary>
    private static bool TryTakeShared(SharedMessageQueue shared, SharedTaskDeque own, long seq, int tasks)
    {
        Span<byte> message = stackalloc byte[16];
        while (shared.TryDequeue(message, out int length))
        {
            long job = BitConverter.ToInt64(message);
            long id = BitConverter.ToInt64(message[8..]);
            if (length == 16 && job == seq && (ulong)id < (ulong)tasks)
            {
                own.Push(id); // the deque is empty here (TryPop just failed) and only this thread pushes.
                return true;
            }
        }

        return false;
    }

    private bool AnyStealable(SharedTaskStealer[] stealers)
    {
        for (int j = 0; j < stealers.Length; j++)
        {
            if (j != _me && stealers[j].Count > 0)
            {
                return true;
            }
        }

        return false;
    }

    private async ValueTask ExecuteAsync(SharedTaskTable table, long seq, long id, long epoch, bool payloads, CancellationToken ct)
    {
        ReadOnlyMemory<byte> payload = ReadOnlyMemory<byte>.Empty;
        string? failure = null;
        long result;
        long t0 = Stopwatch.GetTimestamp();
        try
        {
            if (payloads && _region.State.TryRead(SessionNames.PayloadKey(_session, id), _payloadBuffer, out int length, out _))
            {
                payload = _payloadBuffer.AsSpan(0, length).ToArray();
            }

            result = await _handler.ExecuteAsync(new TaskContext(id, payload, _me, seq), ct).ConfigureAwait(false);
            if (result == JobResult.FailedResult)
            {
                failure = $"The handler returned {JobResult.FailedResult}, which is reserved to mark failed tasks.";
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw; // the host is stopping: the lease is recovered by the coordinator once this process exits.
        }
        catch (Exception e)
        {
            failure = e.GetType().Name + ": " + e.Message;
            result = JobResult.FailedResult;
        }

        _handlerTicks += Stopwatch.GetTimestamp() - t0;
        if (failure is not null)
        {
            result = JobResult.FailedResult;
            RecordFailure(seq, id, failure);
        }

        if (table.TryCommit(id, _me, epoch, result))
        {
            _commits++;
            // Published at once (the other counters every 5 ms): the coordinator sums the commits to know when to scan
            // the table for completion, so the job's end is seen within one coordinator round, not one publish period.
            _control.WriteCounter(_me, SessionControlLayout.CommitsOffset, _commits);
            if (failure is not null)
            {
                _failures++;
            }

            _region.Agents.AddOperations(1);
        }
        else
        {
            _lostCommits++;
        }
    }

    /// <summary>Stores the failure message (truncated to the state table's value size) before the commit; advisory.</summary>
    private void RecordFailure(long seq, long id, string message)
    {
        try
        {
            int max = _region.State.MaxValueBytes;
            byte[] bytes = Encoding.UTF8.GetBytes(message);
            _region.State.Write(SessionNames.FailureKey(_session, id), bytes.AsSpan(0, Math.Min(bytes.Length, max)));
        }
        catch (Exception e) when (e is SharedRegionFullException or ArgumentException)
        {
            // The state table is full (or the key does not fit): the task is still committed as failed; only the message is lost.
        }
    }

    private void MaybePublish()
    {
        long now = Stopwatch.GetTimestamp();
        if (now - _lastPublish >= PublishEveryTicks)
        {
            _lastPublish = now;
            Publish();
        }
    }

    private void Publish()
    {
        _control.WriteCounter(_me, SessionControlLayout.CommitsOffset, _commits);
        _control.WriteCounter(_me, SessionControlLayout.LostCommitsOffset, _lostCommits);
        _control.WriteCounter(_me, SessionControlLayout.FailuresOffset, _failures);
        _control.WriteCounter(_me, SessionControlLayout.StealsOffset, _steals);
        _control.WriteCounter(_me, SessionControlLayout.StolenIdsOffset, _stolenIds);
        _control.WriteCounter(_me, SessionControlLayout.StealAttemptsOffset, _stealAttempts);
        _control.WriteCounter(_me, SessionControlLayout.HandlerTicksOffset, _handlerTicks);
        _control.WriteCounter(_me, SessionControlLayout.LoopTicksOffset, _loopTicks);
        _control.WriteCounter(_me, SessionControlLayout.ParkedTicksOffset, _parkedTicks);
    }
}

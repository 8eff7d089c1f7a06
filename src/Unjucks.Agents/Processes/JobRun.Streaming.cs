// Streaming jobs (StreamingJob): the task set grows while the job runs.
//   - The job segment's task table has capacity maxTasks, fixed at the start; Submit hands out ids 0, 1, 2, ... in
//     submission order (under _submitGate), writes the payload to the state table, creates the id's completion
//     source, and only then publishes the id to the monitor thread through a ConcurrentQueue (which orders the
//     writes before the monitor's dequeue). The monitor moves submitted ids into the same unplaced queue that a batch
//     job's ids and recovered ids go through, so placement (least loaded, ...), stealing and recovery are unchanged.
//   - Completion detection: _outstanding holds submitted ids not yet seen Done, in submission order. A scan runs when
//     the agents' published commit counters exceed the Done records seen so far (and stops as soon as it has found
//     that many), and every 20 ms over every outstanding id (backstop: an agent that died between its commit and
//     its counter publish). An id seen Done is final (Done is a final state), so each completion fires once, with
//     the committed value; its payload key and failure message are removed right then, so the state table holds
//     only in-flight tasks' payloads.
//   - End: CompleteAsync closes submissions (under the same gate, so no id is published after _closed); the monitor
//     reads _closed BEFORE draining the queue, so when it sees closed and nothing outstanding, every id is done.
using System.Collections.Concurrent;
using Unjucks.SharedMemory;
using Unjucks.SharedMemory.Jobs;

namespace Unjucks.Agents.Processes;

/// <summary>The streaming part of <see cref="JobRun"/> (see the file header).</summary>
internal sealed partial class JobRun
{
    private readonly bool _streaming;
    private readonly Lock _submitGate = new();
    private readonly ConcurrentQueue<long> _submitted = new();
    private readonly TaskCompletionSource<long>?[] _completions = [];
    private readonly bool[] _hasPayload = [];
    private readonly List<long> _outstanding = [];
    private readonly Dictionary<long, string> _failures = [];
    private readonly ManualResetEventSlim _submitSignal = new(false);
    private long _next;
    private int _closed;
    private long _observedDone;
    private int _flags;

    /// <summary>Ids handed out so far.</summary>
    internal long Submitted => Volatile.Read(ref _next); // acquire; pairs with the release in Submit.

    /// <summary>The task table's capacity (maxTasks of a streaming job).</summary>
    internal int Capacity => _taskCount;

    internal long Submit(ReadOnlyMemory<byte> payload)
    {
        if (payload.Length > Region.State.MaxValueBytes)
        {
            throw new ArgumentException(
                $"The payload has {payload.Length} bytes; the limit is {Region.State.MaxValueBytes} (JobCoordinatorOptions.MaxPayloadBytes). Put larger inputs in a file and pass its path.", nameof(payload));
        }

        long id;
        lock (_submitGate)
        {
            if (_closed != 0)
            {
                throw new InvalidOperationException($"Job {_seq} takes no more tasks: CompleteAsync was called, or the job was cancelled or failed.");
            }

            id = _next;
            if (id >= _taskCount)
            {
                throw new InvalidOperationException($"Job {_seq} already has its maxTasks = {_taskCount} tasks; start the streaming job with a larger maxTasks.");
            }

            if (payload.Length > 0)
            {
                try
                {
                    Region.State.Write(SessionNames.PayloadKey(_owner.SessionName, id), payload.Span);
                }
                catch (SharedRegionFullException e)
                {
                    throw new InvalidOperationException(
                        $"The region's state table is full at task {id} of job {_seq}; start the coordinator with a larger JobCoordinatorOptions.StateSlots (payloads of tasks in flight + failures).", e);
                }

                _hasPayload[id] = true;
            }

            _completions[id] = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _next, id + 1); // release: the completion source above is visible to Completion(id) callers that read _next.
            _submitted.Enqueue(id); // publishes id, payload flag and completion source to the monitor thread (the queue orders them).
        }

        _submitSignal.Set();
        return id;
    }

    internal Task<long> CompletionOf(long taskId)
    {
        long next = Submitted;
        if ((ulong)taskId >= (ulong)next)
        {
            throw new ArgumentOutOfRangeException(nameof(taskId), taskId, $"Task {taskId} was not submitted to job {_seq}; ids 0 to {next - 1} were.");
        }

        return _completions[taskId]!.Task;
    }

    /// <summary>No more submissions (idempotent); wakes the monitor so that it sees the end.</summary>
    internal void Close()
    {
        lock (_submitGate)
        {
            Volatile.Write(ref _closed, 1); // release; pairs with the acquire in Monitor (read before it drains the queue).
        }

        _submitSignal.Set();
    }

    /// <summary>After a cancelled or failed job: closes submissions and ends every completion not yet set.</summary>
    internal void Abort(Exception? error)
    {
        Close();
        long n = Submitted;
        for (long id = 0; id < n; id++)
        {
            TaskCompletionSource<long> tcs = _completions[id]!;
            if (error is null)
            {
                tcs.TrySetCanceled();
            }
            else
            {
                tcs.TrySetException(error);
            }
        }
    }

    /// <summary>Monitor thread: moves submitted ids to the unplaced queue and the outstanding list; true if there were any.</summary>
    private bool DrainSubmissions()
    {
        bool any = false;
        while (_submitted.TryDequeue(out long id))
        {
            any = true;
            _outstanding.Add(id);
            if (!_queuedHere[id])
            {
                _queuedHere[id] = true;
                _unplaced.Enqueue(id);
            }
        }

        return any;
    }

    /// <summary>Monitor thread: waits up to 1 ms for a submission or the close.</summary>
    private void WaitForSubmission()
    {
        _submitSignal.Wait(1);
        _submitSignal.Reset(); // the queue is drained AFTER this reset (next round), so a Set before it loses nothing.
    }

    /// <summary>Monitor thread: completes outstanding ids whose Done record exists, until <paramref name="targetDone"/> are seen.</summary>
    /// <returns>How many completed.</returns>
    private int ScanCompletions(long targetDone)
    {
        SharedTaskTable table = _segment!.Tasks;
        int count = _outstanding.Count, w = 0, i = 0, found = 0;
        for (; i < count && _observedDone < targetDone; i++)
        {
            long id = _outstanding[i];
            if (table.TryReadResult(id, out TaskResult r))
            {
                found++;
                _observedDone++;
                Complete(id, r.Value);
            }
            else
            {
                _outstanding[w++] = id;
            }
        }

        if (w != i)
        {
            for (; i < count; i++)
            {
                _outstanding[w++] = _outstanding[i];
            }

            _outstanding.RemoveRange(w, count - w);
        }

        return found;
    }

    private void Complete(long id, long value)
    {
        if (_hasPayload[id])
        {
            Region.State.TryDelete(SessionNames.PayloadKey(_owner.SessionName, id), 0); // Done is final: no agent leases it again.
        }

        TaskCompletionSource<long> tcs = _completions[id]!;
        if (value != JobResult.FailedResult)
        {
            tcs.TrySetResult(value);
            return;
        }

        string key = SessionNames.FailureKey(_owner.SessionName, id);
        byte[] buffer = new byte[Region.State.MaxValueBytes];
        string message = Region.State.TryRead(key, buffer, out int length, out _) ? System.Text.Encoding.UTF8.GetString(buffer, 0, length) : "(message lost)";
        Region.State.TryDelete(key, 0);
        _failures[id] = message;
        tcs.TrySetException(new TaskFailedException(id, message));
    }

    /// <summary>After a cancelled or failed streaming job: removes the payload and failure keys of every task not seen done.</summary>
    private void RemoveStreamingKeys()
    {
        Close(); // no more ids are published after this (the caller then ends the completions: Abort).
        DrainSubmissions();
        foreach (long id in _outstanding)
        {
            if (_hasPayload[id])
            {
                Region.State.TryDelete(SessionNames.PayloadKey(_owner.SessionName, id), 0);
            }

            Region.State.TryDelete(SessionNames.FailureKey(_owner.SessionName, id), 0);
        }
    }
}

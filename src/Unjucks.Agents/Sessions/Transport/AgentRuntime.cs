// The agent side of a session, in the agent process.
//   start:  open the segment; PR_SET_PDEATHSIG(SIGKILL), then check that the coordinator is alive (it may have died
//           before the prctl call, when no signal would come); register (pid, generation, then state, release).
//   beat:   a background thread increments the heartbeat counter every HeartbeatInterval and ends the process if
//           the coordinator is gone (a fallback for agents that are not its direct children).
//   loop:   take a slot id from the own inbox, else scan the table for any Queued slot (stealing), else park on the
//           own futex word (see SessionSegment's wake protocol); lease it with a CAS (Queued -> Leased(me, e+1));
//           read the input; run the handler; BeginCommit (CAS), write the output, FinishCommit (CAS publishes it);
//           wake the coordinator. A lease lost on the way (recovery after we were presumed dead) drops the result.
//           While the coordinator has us on standby (the adaptive agent count), we take nothing and park.
// Exactly once comes from the table's CASes alone: inbox ids are hints, duplicates and stale ids are harmless.
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Unjucks.SharedMemory.Jobs;
using Unjucks.SharedMemory.Native;
using Unjucks.SharedMemory.Sessions;

namespace Unjucks.Agents.Sessions.Transport;

internal static class AgentRuntime
{
    // Test hooks (the test agent programs set them): die at a step that matters.
    private const string KillBeforeRegisterVariable = "UNJUCKS_TEST_KILL_BEFORE_REGISTER"; // "<index>:<generation>"
    private const string KillWhileCommittingVariable = "UNJUCKS_TEST_KILL_WHILE_COMMITTING"; // "<task id>:<attempt>"

    // inProcess: an agent thread of the coordinator's process (AgentThreads): no parent-death signal, and the test
    // hooks that SIGKILL the process are off (they would kill the coordinator).
    internal static async Task<int> RunAsync(string path, int index, int generation, AgentTaskHandler handler, ILogger? logger, CancellationToken cancellationToken, bool inProcess = false)
    {
        SessionSegment segment;
        try
        {
            segment = SessionSegment.Open(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Unjucks.SharedMemory.SharedRegionFormatException)
        {
            AgentLog.Error(logger, $"Cannot open the session file '{path}': {e.Message}");
            return AgentHost.ExitBadArguments;
        }

        using (segment)
        {
            if ((uint)index >= (uint)segment.AgentCount)
            {
                AgentLog.Error(logger, $"Agent index {index} is outside the session's {segment.AgentCount} agents.");
                return AgentHost.ExitBadArguments;
            }

            if (!inProcess)
            {
                LibCSession.Prctl(LibCSession.PR_SET_PDEATHSIG, LibCSession.SIGKILL, 0, 0, 0);
            }

            if (!CoordinatorAlive(segment))
            {
                return AgentHost.ExitCoordinatorGone;
            }

            if (!inProcess && Environment.GetEnvironmentVariable(KillBeforeRegisterVariable) == $"{index}:{generation}")
            {
                LibC.Kill(Environment.ProcessId, LibCSession.SIGKILL);
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var sessionData = segment.SessionData.ToArray();
            segment.Register(index, generation);
            var beat = new Thread(() => Beat(segment, index, stop)) { IsBackground = true, Name = "unjucks-agent-heartbeat" };
            beat.Start();
            try
            {
                await Loop(segment, index, sessionData, handler, inProcess, stop.Token).ConfigureAwait(false);
            }
            catch (Unjucks.SharedMemory.SharedRegionFormatException e)
            {
                // Damaged shared memory: one line and an exit the coordinator sees, not a crash with a stack trace.
                AgentLog.Error(logger, $"Agent {index} stops: {e.Message}");
                return AgentHost.ExitBadArguments;
            }
            finally
            {
                stop.Cancel();
                beat.Join();
                segment.MarkExited(index, generation);
            }

            return CoordinatorAlive(segment) ? AgentHost.ExitStopped : AgentHost.ExitCoordinatorGone;
        }
    }

    private static bool CoordinatorAlive(SessionSegment segment) => ProcessIdentity.IsRunning(segment.CoordinatorPid, segment.CoordinatorStartTime);

    private static void Beat(SessionSegment segment, int index, CancellationTokenSource stop)
    {
        var interval = segment.HeartbeatInterval;
        while (!stop.IsCancellationRequested)
        {
            segment.Beat(index);
            if (segment.StopRequested || !CoordinatorAlive(segment))
            {
                stop.Cancel();
                return;
            }

            stop.Token.WaitHandle.WaitOne(interval);
        }
    }

    private static async Task Loop(SessionSegment segment, int index, byte[] sessionData, AgentTaskHandler handler, bool inProcess, CancellationToken token)
    {
        string prefix = SessionFiles.PrefixOf(segment.FilePath);
        var inbox = segment.Inbox(index);
        var table = segment.Table;
        int scanFrom = index * 7919 % segment.SlotCount;
        string? killWhileCommitting = inProcess ? null : Environment.GetEnvironmentVariable(KillWhileCommittingVariable);
        Func<bool> idle = () => inbox.Count == 0 && !AnyQueued(table, 0) && segment.PendingAgentGc(index) is null && !token.IsCancellationRequested;
        Func<bool> standby = () => segment.IsAgentStandby(index) && segment.PendingAgentGc(index) is null && !token.IsCancellationRequested;
        int misses = 0;
        while (!token.IsCancellationRequested && !segment.StopRequested)
        {
            if (segment.PendingAgentGc(index) is { } round)
            {
                CollectForCoordinator(segment, index, round);
            }

            if (segment.IsAgentStandby(index))
            {
                // Beyond the active agent count: no work from the inbox, none stolen, until the coordinator activates
                // us (its wake ends the park). A task leased just before the mark was set still runs: the core
                // accounts for it like any lease it did not plan.
                misses = 0;
                segment.ParkAgent(index, standby, TimeSpan.FromMilliseconds(50));
                continue;
            }

            int slot = -1;
            long epoch = 0;
            while (inbox.TryDequeue(out long id))
            {
                if ((ulong)id < (ulong)segment.SlotCount && table.TryLease(id, index, out epoch))
                {
                    slot = (int)id;
                    break;
                }
            }

            if (slot < 0)
            {
                slot = Steal(table, index, ref scanFrom, out epoch);
            }

            if (slot < 0)
            {
                if (++misses < 32)
                {
                    Thread.Yield();
                    continue;
                }

                misses = 0;
                segment.ParkAgent(index, idle, TimeSpan.FromMilliseconds(50));
                continue;
            }

            misses = 0;
            await RunOne(segment, prefix, index, slot, epoch, sessionData, handler, killWhileCommitting, token).ConfigureAwait(false);
        }
    }

    /// <summary>A coordinated GC round (the session's memory pressure reached its threshold): a full, blocking,
    /// compacting collection between two tasks, the large-object heap included, so that the memory goes back to the
    /// system and the next PSS reading shows it.</summary>
    private static void CollectForCoordinator(SessionSegment segment, int index, int round)
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        segment.CompleteAgentGc(index, round);
    }

    private static bool AnyQueued(SharedTaskTable table, int from)
    {
        for (int i = 0; i < table.Capacity; i++)
        {
            if (table.Read((from + i) % table.Capacity).State == TaskState.Queued) // acquire: pairs with the Place CAS.
            {
                return true;
            }
        }

        return false;
    }

    private static int Steal(SharedTaskTable table, int index, ref int scanFrom, out long epoch)
    {
        int n = table.Capacity;
        for (int i = 0; i < n; i++)
        {
            int s = (scanFrom + i) % n;
            if (table.Read(s).State == TaskState.Queued && table.TryLease(s, index, out epoch)) // acquire read, then the lease CAS decides.
            {
                scanFrom = (s + 1) % n;
                return s;
            }
        }

        epoch = 0;
        return -1;
    }

    private static async ValueTask RunOne(SessionSegment segment, string prefix, int index, int slot, long epoch, byte[] sessionData,
        AgentTaskHandler handler, string? killWhileCommitting, CancellationToken token)
    {
        long leased = Stopwatch.GetTimestamp();
        Volatile.Write(ref segment.SlotLong(slot, SessionSegmentLayout.SlotStartedTicksOffset), leased); // release; ordered before our commit CAS.
        long taskId = segment.SlotLong(slot, SessionSegmentLayout.SlotTaskIdOffset); // published by the Place CAS, acquired by our lease CAS.
        int attempt = segment.SlotInt(slot, SessionSegmentLayout.SlotAttemptOffset);
        ReadOnlyMemory<byte> output; // the handler's bytes as they are: WriteOutput copies them into the slot or a file.
        bool failed = false;
        long handlerTicks = 0;
        try
        {
            var parts = SlotCodec.ReadInput(segment, prefix, slot);
            var task = new AgentTask(taskId, parts[0], parts.Length == 1 ? [] : parts[1..], attempt, index, sessionData);
            using var activity = StartActivity(segment, slot, taskId, attempt, index);
            long begin = Stopwatch.GetTimestamp();
            try
            {
                output = await handler(task, token).ConfigureAwait(false);
            }
            finally
            {
                handlerTicks = Stopwatch.GetTimestamp() - begin;
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return; // stopping: not committed; the task runs again elsewhere if the session goes on.
        }
        catch (Exception e)
        {
            output = SlotCodec.EncodeFailure(e);
            failed = true;
        }

        var table = segment.Table;
        if (!table.TryBeginCommit(slot, index, epoch))
        {
            return; // the lease was taken back (we were presumed dead); another run owns the task now.
        }

        if (killWhileCommitting == $"{taskId}:{attempt}")
        {
            LibC.Kill(Environment.ProcessId, LibCSession.SIGKILL);
        }

        long descriptor;
        try
        {
            descriptor = SlotCodec.WriteOutput(segment, prefix, slot, epoch, output.Span, failed);
        }
        catch (IOException e)
        {
            descriptor = SlotCodec.WriteOutput(segment, prefix, slot, epoch, SlotCodec.EncodeFailure(new IOException("The result could not be written: " + e.Message, e)), failed: true);
        }

        Volatile.Write(ref segment.SlotLong(slot, SessionSegmentLayout.SlotFinishedTicksOffset), Stopwatch.GetTimestamp()); // published by the Finish CAS.
        table.FinishCommit(slot, index, epoch, descriptor); // full fence CAS: publishes output and descriptor (pairs with the coordinator's acquire read).
        long busy = Stopwatch.GetTimestamp() - leased;
        segment.CountTask(index, busy * 1_000_000_000 / Stopwatch.Frequency, handlerTicks * 1_000_000_000 / Stopwatch.Frequency);
        segment.WakeCoordinator();
    }

    private static Activity? StartActivity(SessionSegment segment, int slot, long taskId, int attempt, int index)
    {
        if (!SessionTelemetry.Source.HasListeners())
        {
            return null;
        }

        int length = segment.SlotInt(slot, SessionSegmentLayout.SlotTraceLengthOffset);
        string? parent = length is > 0 and <= SessionSegmentLayout.SlotTraceCapacity ? Encoding.ASCII.GetString(segment.SlotTrace(slot)[..length]) : null;
        var activity = parent is not null && ActivityContext.TryParse(parent, null, out var context)
            ? SessionTelemetry.Source.StartActivity("unjucks.agents.execute", ActivityKind.Consumer, context)
            : SessionTelemetry.Source.StartActivity("unjucks.agents.execute", ActivityKind.Consumer);
        activity?.SetTag("unjucks.task.id", taskId);
        activity?.SetTag("unjucks.task.attempt", attempt);
        activity?.SetTag("unjucks.agent.index", index);
        return activity;
    }
}

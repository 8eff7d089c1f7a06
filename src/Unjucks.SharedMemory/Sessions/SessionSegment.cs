// An agent session's one shared file, mapped (SessionSegmentLayout). The coordinator creates it; every agent
// process opens it.
//
// Ready protocol: the creator reserves the file's space with posix_fallocate (so a full /dev/shm is an
// IOException now, not a SIGBUS on first touch later), writes every part, then the version word LAST with a
// release store; Open reads it with acquire and refuses 0 or another major version.
// Wake protocol (one futex word per agent, and one for the coordinator; nobody wakes everyone):
//   parker:  store parked = 1 (Interlocked.Exchange: a full fence), re-check its condition, futex-wait on its
//            word with the value it read BEFORE the re-check, store parked = 0.
//   waker:   publish the work (release), full fence, read parked; if 1, increment the word and FUTEX_WAKE 1.
//   The two full fences make it impossible that the parker misses the work and the waker misses the flag
//   (the store-buffer litmus test). Every wait has a timeout, so a lost wake costs latency, never progress.
using System.Diagnostics;
using Unjucks.SharedMemory.Jobs;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory.Sessions;

/// <summary>A mapped session file (see the file header).</summary>
internal sealed unsafe class SessionSegment : IDisposable
{
    private readonly FileStream _stream;
    private readonly MappedRegionFile _mapping;
    private readonly SharedTaskInbox[] _inboxes;
    private readonly long _agentsOffset;
    private readonly long _slotsOffset;
    private readonly long _slotStride;
    private readonly long _sessionDataOffset;
    private byte* _base;

    private SessionSegment(string path, FileStream stream, MappedRegionFile mapping)
    {
        byte* p = mapping.Base;
        FilePath = path;
        _stream = stream;
        _mapping = mapping;
        _base = p;
        Length = mapping.Length;
        // SAFETY (this constructor): Create wrote or Open validated every offset below against `length`.
        AgentCount = *(int*)(p + SessionSegmentLayout.AgentCountOffset);
        SlotCount = *(int*)(p + SessionSegmentLayout.SlotCountOffset);
        InlineBytes = *(int*)(p + SessionSegmentLayout.InlineBytesOffset);
        CoordinatorPid = *(int*)(p + SessionSegmentLayout.CoordinatorPidOffset);
        CoordinatorStartTime = *(long*)(p + SessionSegmentLayout.CoordinatorStartOffset);
        HeartbeatInterval = TimeSpan.FromMilliseconds(*(int*)(p + SessionSegmentLayout.HeartbeatMsOffset));
        _agentsOffset = *(long*)(p + SessionSegmentLayout.AgentsOffsetOffset);
        _slotsOffset = *(long*)(p + SessionSegmentLayout.SlotsOffsetOffset);
        _slotStride = *(long*)(p + SessionSegmentLayout.SlotStrideOffset);
        _sessionDataOffset = *(long*)(p + SessionSegmentLayout.SessionDataOffsetOffset);
        SessionDataLength = *(long*)(p + SessionSegmentLayout.SessionDataLengthOffset);
        long inboxes = *(long*)(p + SessionSegmentLayout.InboxesOffsetOffset);
        long inboxStride = *(long*)(p + SessionSegmentLayout.InboxStrideOffset);
        _inboxes = new SharedTaskInbox[AgentCount];
        try
        {
            for (int i = 0; i < AgentCount; i++)
            {
                _inboxes[i] = new SharedTaskInbox(p + inboxes + i * inboxStride);
            }

            Table = new SharedTaskTable(p + *(long*)(p + SessionSegmentLayout.TableOffsetOffset));
        }
        catch (ArgumentException e)
        {
            throw new SharedRegionFormatException($"Session file '{path}' is damaged: {e.Message}");
        }

        // A ring or table of another size than the layout's would index past its block: refuse it.
        int inboxCapacity = SessionSegmentLayout.InboxCapacity(SlotCount);
        if (Table.Capacity != SlotCount || _inboxes.Any(inbox => inbox.Capacity != inboxCapacity))
        {
            throw new SharedRegionFormatException(
                $"Session file '{path}' is damaged: its task table or an inbox has another capacity than its {SlotCount} slots give ({inboxCapacity} per inbox). Remove it (AgentSession.RemoveStale).");
        }
    }

    internal string FilePath { get; }

    internal long Length { get; }

    internal int AgentCount { get; }

    internal int SlotCount { get; }

    internal int InlineBytes { get; }

    internal int CoordinatorPid { get; }

    internal long CoordinatorStartTime { get; }

    internal TimeSpan HeartbeatInterval { get; }

    internal long SessionDataLength { get; }

    /// <summary>One record per slot: lease epochs and exactly-once commits.</summary>
    internal SharedTaskTable Table { get; }

    /// <summary>The coordinator-to-agent ring of slot ids of agent <paramref name="agent"/>.</summary>
    internal SharedTaskInbox Inbox(int agent) => _inboxes[agent];

    /// <summary>The session data (read-only by convention after creation).</summary>
    internal ReadOnlySpan<byte> SessionData => SessionDataLength == 0
        ? default
        : new ReadOnlySpan<byte>(Base + _sessionDataOffset, checked((int)SessionDataLength)); // SAFETY: validated range inside the mapping.

    /// <summary>Creates the file (0600, space reserved) and publishes it ready.</summary>
    /// <exception cref="IOException">The file exists, or there is no space for it (e.g. a full /dev/shm).</exception>
    internal static SessionSegment Create(string path, int agents, int slots, int inlineBytes, ReadOnlySpan<byte> sessionData, TimeSpan heartbeat)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Agent sessions need Linux (/dev/shm, futex, prctl).");
        }

        SessionSegmentLayout.Validate(agents, slots, inlineBytes, sessionData.Length);
        long size = SessionSegmentLayout.SizeOf(agents, slots, inlineBytes, sessionData.Length);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        var stream = new FileStream(path, options);
        MappedRegionFile? mapping = null;
        try
        {
            SpaceReservation.Reserve(stream, size, path, "session file", "set AgentSessionOptions.Directory to a folder with room");
            mapping = new MappedRegionFile(stream, size); // the one mapping primitive of the shared regions
            byte* p = mapping.Base;
            // SAFETY: the file is new (CreateNew) and nobody maps it before the version store below; the view spans `size` bytes.
            WriteHeader(p, agents, slots, inlineBytes, sessionData.Length, size, heartbeat);
            long inboxes = SessionSegmentLayout.InboxesOffset(agents);
            long stride = SessionSegmentLayout.InboxStride(slots);
            for (int i = 0; i < agents; i++)
            {
                // SAFETY: inbox i lies inside [InboxesOffset, TableOffset).
                TaskInboxLayout.Initialize(p + inboxes + i * stride, SessionSegmentLayout.InboxCapacity(slots));
            }

            // SAFETY: the table lies inside [TableOffset, SlotsOffset).
            TaskTableLayout.Initialize(p + SessionSegmentLayout.TableOffset(agents, slots), slots);
            // SAFETY: the session data range ends at or before `size`.
            sessionData.CopyTo(new Span<byte>(p + SessionSegmentLayout.SessionDataOffset(agents, slots, inlineBytes), sessionData.Length));
            // Release: the ready signal, written last; pairs with the acquire load of the version word in Open.
            Volatile.Write(ref *(int*)(p + SessionSegmentLayout.VersionOffset), SessionSegmentLayout.Version);
            return new SessionSegment(path, stream, mapping);
        }
        catch
        {
            mapping?.Dispose();
            stream.Dispose();
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Opens a ready session file.</summary>
    /// <exception cref="SharedRegionFormatException">The file is not a ready session file of this layout major version, or not a regular file.</exception>
    /// <exception cref="UnauthorizedAccessException">The file is writable by group or others.</exception>
    internal static SessionSegment Open(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Agent sessions need Linux (/dev/shm, futex, prctl).");
        }

        var stream = RegularFile.OpenExisting(path, "Session file");
        MappedRegionFile? mapping = null;
        try
        {
            long length = stream.Length;
            if (length < SessionSegmentLayout.HeaderBytes)
            {
                throw new SharedRegionFormatException($"Session file '{path}' is truncated ({length} bytes); it is not a session of this version.");
            }

            mapping = new MappedRegionFile(stream, length);
            byte* p = mapping.Base;
            // SAFETY: length >= HeaderBytes. Acquire: pairs with the creator's release store of the version word.
            ValidateHeader(p, length, path, Volatile.Read(ref *(int*)(p + SessionSegmentLayout.VersionOffset)));
            return new SessionSegment(path, stream, mapping);
        }
        catch
        {
            mapping?.Dispose();
            stream.Dispose();
            throw;
        }
    }

    // ---- header words ----

    /// <summary>True once the coordinator asked every agent to exit.</summary>
    internal bool StopRequested => Volatile.Read(ref Int(SessionSegmentLayout.StopWordOffset)) != 0; // acquire: pairs with RequestStop.

    /// <summary>Asks every agent to exit, and wakes them all (shutdown is the one broadcast).</summary>
    internal void RequestStop()
    {
        Volatile.Write(ref Int(SessionSegmentLayout.StopWordOffset), 1); // release: agents that see it exit.
        Interlocked.MemoryBarrier(); // full fence: the stop word before the parked flags (see the wake protocol).
        for (int i = 0; i < AgentCount; i++)
        {
            WakeAgent(i, force: true);
        }
    }

    // ---- agent lines ----

    internal int AgentPid(int agent) => Volatile.Read(ref AgentInt(agent, SessionSegmentLayout.AgentPidOffset)); // acquire: pairs with Register.

    internal int AgentState(int agent) => Volatile.Read(ref AgentInt(agent, SessionSegmentLayout.AgentStateOffset)); // acquire: pairs with Register.

    internal int AgentGeneration(int agent) => Volatile.Read(ref AgentInt(agent, SessionSegmentLayout.AgentGenerationOffset)); // acquire: pairs with Register.

    internal long AgentHeartbeat(int agent) => Volatile.Read(ref AgentLong(agent, SessionSegmentLayout.AgentHeartbeatOffset)); // acquire: pairs with Beat.

    internal long AgentTasksRun(int agent) => Volatile.Read(ref AgentLong(agent, SessionSegmentLayout.AgentTasksRunOffset)); // acquire; a counter.

    internal long AgentBusyNanoseconds(int agent) => Volatile.Read(ref AgentLong(agent, SessionSegmentLayout.AgentBusyNanosOffset)); // acquire; a counter.

    /// <summary>Coordinator, before starting a process for the slot (the previous one is dead): clears its line.</summary>
    internal void ResetAgent(int agent)
    {
        Volatile.Write(ref AgentInt(agent, SessionSegmentLayout.AgentStateOffset), 0); // release; the new process writes it next.
        Volatile.Write(ref AgentInt(agent, SessionSegmentLayout.AgentPidOffset), 0); // release; no reader acts on pid 0.
    }

    /// <summary>Agent: publishes its pid and generation, then state Registered (release, last).</summary>
    internal void Register(int agent, int generation)
    {
        Volatile.Write(ref AgentInt(agent, SessionSegmentLayout.AgentPidOffset), Environment.ProcessId); // ordered before the state store.
        Volatile.Write(ref AgentInt(agent, SessionSegmentLayout.AgentGenerationOffset), generation); // ordered before the state store.
        Volatile.Write(ref AgentInt(agent, SessionSegmentLayout.AgentStateOffset), 1); // release: pid and generation are visible with it.
    }

    /// <summary>Agent: says it exits on purpose, unless a newer generation holds the slot (an abandoned agent
    /// thread that ends late must not mark its successor exited).</summary>
    internal void MarkExited(int agent, int generation)
    {
        if (AgentGeneration(agent) == generation)
        {
            Volatile.Write(ref AgentInt(agent, SessionSegmentLayout.AgentStateOffset), 2); // release; advisory. The check and the store can still race a successor's Register; its state 1 lost that way makes it look unregistered, so it is replaced after StartTimeout.
        }
    }

    /// <summary>Agent's heartbeat thread: one beat.</summary>
    internal void Beat(int agent)
    {
        ref long beat = ref AgentLong(agent, SessionSegmentLayout.AgentHeartbeatOffset);
        Volatile.Write(ref beat, beat + 1); // release; one writer (the heartbeat thread); the coordinator only compares it.
    }

    internal long AgentHandlerNanoseconds(int agent) => Volatile.Read(ref AgentLong(agent, SessionSegmentLayout.AgentHandlerNanosOffset)); // acquire; a counter.

    /// <summary>Agent: counts one task run, its lease-to-commit time and its handler's share of it. Only the
    /// agent writes its line, so plain read-modify-write through Volatile suffices (no other writer to race).</summary>
    internal void CountTask(int agent, long busyNanoseconds, long handlerNanoseconds)
    {
        ref long tasks = ref AgentLong(agent, SessionSegmentLayout.AgentTasksRunOffset);
        Volatile.Write(ref tasks, tasks + 1); // release; single writer, the coordinator reads with acquire.
        ref long busy = ref AgentLong(agent, SessionSegmentLayout.AgentBusyNanosOffset);
        Volatile.Write(ref busy, busy + busyNanoseconds); // release; single writer.
        ref long handler = ref AgentLong(agent, SessionSegmentLayout.AgentHandlerNanosOffset);
        Volatile.Write(ref handler, handler + handlerNanoseconds); // release; single writer.
    }

    /// <summary>Coordinator: puts agent <paramref name="agent"/> on standby (it takes no new work: not from its inbox,
    /// not by stealing; what it runs it finishes) or takes it off standby and wakes it.</summary>
    internal void SetAgentStandby(int agent, bool standby)
    {
        // Release: an agent that reads 0 (acquire) after an Activate also sees the work placed before it.
        Volatile.Write(ref AgentInt(agent, SessionSegmentLayout.AgentStandbyOffset), standby ? 1 : 0);
        if (!standby)
        {
            // Wake's full fence orders the store above before its read of the parked flag, pairing with Park's
            // (flag store, fence, predicate read): either the agent's predicate sees 0 or we see it parked and wake it.
            WakeAgent(agent);
        }
    }

    /// <summary>Agent: whether the coordinator put it on standby (see <see cref="SetAgentStandby"/>).</summary>
    internal bool IsAgentStandby(int agent) => Volatile.Read(ref AgentInt(agent, SessionSegmentLayout.AgentStandbyOffset)) != 0; // acquire: pairs with SetAgentStandby's release.

    /// <summary>Coordinator: asks agent <paramref name="agent"/> for a full, compacting GC between two tasks (a
    /// coordinated GC round) and wakes it if it is parked.</summary>
    internal void RequestAgentGc(int agent)
    {
        // Full fence: the agent's acquire read of the request sees the new count; Wake's fence then orders it before
        // the read of the parked flag (as in SetAgentStandby).
        Interlocked.Increment(ref AgentInt(agent, SessionSegmentLayout.AgentGcRequestedOffset));
        WakeAgent(agent);
    }

    /// <summary>Agent: the GC round it has not done yet (the requested count), or null when it is up to date.</summary>
    internal int? PendingAgentGc(int agent)
    {
        int requested = Volatile.Read(ref AgentInt(agent, SessionSegmentLayout.AgentGcRequestedOffset)); // acquire: pairs with RequestAgentGc's increment.
        return requested != Volatile.Read(ref AgentInt(agent, SessionSegmentLayout.AgentGcDoneOffset)) ? requested : null; // acquire: its own last release
    }

    /// <summary>Agent: round <paramref name="round"/> (from <see cref="PendingAgentGc"/>) is collected.</summary>
    internal void CompleteAgentGc(int agent, int round) =>
        Volatile.Write(ref AgentInt(agent, SessionSegmentLayout.AgentGcDoneOffset), round); // release: the coordinator's acquire read sees the round done after the collection.

    /// <summary>Coordinator: GC rounds agent <paramref name="agent"/> has done (the last request it collected).</summary>
    internal int AgentGcDone(int agent) => Volatile.Read(ref AgentInt(agent, SessionSegmentLayout.AgentGcDoneOffset)); // acquire: pairs with CompleteAgentGc's release.

    /// <summary>Agent: parks until woken, <paramref name="stillIdle"/> turns false, or the timeout.</summary>
    internal void ParkAgent(int agent, Func<bool> stillIdle, TimeSpan timeout)
    {
        ref int word = ref AgentInt(agent, SessionSegmentLayout.AgentWakeOffset);
        ref int parked = ref AgentInt(agent, SessionSegmentLayout.AgentParkedOffset);
        Park(ref word, ref parked, stillIdle, timeout);
    }

    /// <summary>Coordinator: wakes agent <paramref name="agent"/> if it is parked (or always, with <paramref name="force"/>).
    /// Call after publishing the work with a release store.</summary>
    internal void WakeAgent(int agent, bool force = false) =>
        Wake(ref AgentInt(agent, SessionSegmentLayout.AgentWakeOffset), ref AgentInt(agent, SessionSegmentLayout.AgentParkedOffset), force);

    /// <summary>Coordinator: parks until an agent commits, <paramref name="stillIdle"/> turns false, or the timeout.</summary>
    internal void ParkCoordinator(Func<bool> stillIdle, TimeSpan timeout) =>
        Park(ref Int(SessionSegmentLayout.CoordinatorWakeOffset), ref Int(SessionSegmentLayout.CoordinatorParkedOffset), stillIdle, timeout);

    /// <summary>Agent (after a commit) or a submitter: wakes the coordinator if it is parked.</summary>
    internal void WakeCoordinator() =>
        Wake(ref Int(SessionSegmentLayout.CoordinatorWakeOffset), ref Int(SessionSegmentLayout.CoordinatorParkedOffset), force: false);

    // ---- slots ----

    /// <summary>The slot's base address (header, input inline, output inline).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal byte* Slot(int slot)
    {
        if ((uint)slot >= (uint)SlotCount)
        {
            ThrowBadSlot(slot);
        }

        return Base + _slotsOffset + slot * _slotStride; // SAFETY: slot < SlotCount, validated layout.
    }

    /// <summary>The slot's inline input area.</summary>
    internal Span<byte> InputInline(int slot) => new(Slot(slot) + SessionSegmentLayout.SlotHeaderBytes, InlineBytes); // SAFETY: inside the slot stride.

    /// <summary>The slot's inline output area.</summary>
    internal Span<byte> OutputInline(int slot) => new(Slot(slot) + SessionSegmentLayout.SlotHeaderBytes + InlineBytes, InlineBytes); // SAFETY: inside the slot stride.

    /// <summary>A 64-bit slot header field (see the layout).</summary>
    internal ref long SlotLong(int slot, int offset) => ref *(long*)(Slot(slot) + offset); // SAFETY: offset is a layout constant inside the slot header.

    /// <summary>A 32-bit slot header field (see the layout).</summary>
    internal ref int SlotInt(int slot, int offset) => ref *(int*)(Slot(slot) + offset); // SAFETY: offset is a layout constant inside the slot header.

    /// <summary>The slot's trace-parent bytes.</summary>
    internal Span<byte> SlotTrace(int slot) => new(Slot(slot) + SessionSegmentLayout.SlotTraceOffset, SessionSegmentLayout.SlotTraceCapacity); // SAFETY: inside the slot header.

    public void Dispose()
    {
        if (_base == null)
        {
            return;
        }

        _base = null;
        _mapping.Dispose();
        _stream.Dispose();
    }

    // Every field access goes through Base and Slot; their throws live in helpers so the checks inline.
    private byte* Base
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        get
        {
            byte* p = _base;
            if (p == null)
            {
                ThrowDisposed();
            }

            return p;
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(SessionSegment));

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowBadSlot(int slot) =>
        throw new SharedRegionFormatException($"Slot id {slot} is outside the session's {SlotCount} slots; the session file is damaged.");

    private ref int Int(int offset) => ref *(int*)(Base + offset); // SAFETY: header offsets are layout constants inside the header.

    private ref int AgentInt(int agent, int offset) => ref *(int*)(AgentLine(agent) + offset); // SAFETY: inside the agent's line.

    private ref long AgentLong(int agent, int offset) => ref *(long*)(AgentLine(agent) + offset); // SAFETY: inside the agent's line.

    private byte* AgentLine(int agent)
    {
        if ((uint)agent >= (uint)AgentCount)
        {
            throw new ArgumentOutOfRangeException(nameof(agent), agent, $"Agent slots of this session are 0 to {AgentCount - 1}.");
        }

        return Base + _agentsOffset + (long)agent * SessionSegmentLayout.AgentLineBytes; // SAFETY: agent < AgentCount.
    }

    private void Park(ref int word, ref int parked, Func<bool> stillIdle, TimeSpan timeout)
    {
        int seen = Volatile.Read(ref word); // acquire: read BEFORE the re-check, so a wake after it changes the word.
        Interlocked.Exchange(ref parked, 1); // full fence: the flag before the re-check (pairs with the waker's fence).
        try
        {
            if (stillIdle() && !StopRequested)
            {
                fixed (int* w = &word)
                {
                    // SAFETY: the word lives in this mapping, which stays mapped while we wait (Dispose follows the loops).
                    Futex.Wait(w, seen, timeout);
                }
            }
        }
        finally
        {
            Volatile.Write(ref parked, 0); // release; a waker that still sees 1 only pays one extra wake.
        }
    }

    private static void Wake(ref int word, ref int parked, bool force)
    {
        Interlocked.MemoryBarrier(); // full fence: the caller's published work before the parked flag (store-buffer pairing with Park).
        if (force || Volatile.Read(ref parked) != 0)
        {
            Interlocked.Increment(ref word); // full fence; the parker's futex compare sees the new value.
            fixed (int* w = &word)
            {
                Futex.Wake(w, 1); // SAFETY: the word lives in this live mapping.
            }
        }
    }

    private static void WriteHeader(byte* p, int agents, int slots, int inlineBytes, long sessionDataBytes, long size, TimeSpan heartbeat)
    {
        // SAFETY (all stores): header offsets inside the new, private file; published by the version store.
        *(ulong*)(p + SessionSegmentLayout.MagicOffset) = SessionSegmentLayout.Magic;
        *(int*)(p + SessionSegmentLayout.AgentCountOffset) = agents;
        *(int*)(p + SessionSegmentLayout.SlotCountOffset) = slots;
        *(int*)(p + SessionSegmentLayout.InlineBytesOffset) = inlineBytes;
        *(long*)(p + SessionSegmentLayout.TotalSizeOffset) = size;
        *(int*)(p + SessionSegmentLayout.CoordinatorPidOffset) = Environment.ProcessId;
        *(int*)(p + SessionSegmentLayout.HeartbeatMsOffset) = (int)Math.Clamp(heartbeat.TotalMilliseconds, 1, int.MaxValue);
        *(long*)(p + SessionSegmentLayout.CoordinatorStartOffset) = ProcessIdentity.SelfStartTime;
        *(long*)(p + SessionSegmentLayout.SessionDataOffsetOffset) = SessionSegmentLayout.SessionDataOffset(agents, slots, inlineBytes);
        *(long*)(p + SessionSegmentLayout.SessionDataLengthOffset) = sessionDataBytes;
        *(long*)(p + SessionSegmentLayout.AgentsOffsetOffset) = SessionSegmentLayout.AgentsOffset;
        *(long*)(p + SessionSegmentLayout.InboxesOffsetOffset) = SessionSegmentLayout.InboxesOffset(agents);
        *(long*)(p + SessionSegmentLayout.InboxStrideOffset) = SessionSegmentLayout.InboxStride(slots);
        *(long*)(p + SessionSegmentLayout.TableOffsetOffset) = SessionSegmentLayout.TableOffset(agents, slots);
        *(long*)(p + SessionSegmentLayout.SlotsOffsetOffset) = SessionSegmentLayout.SlotsOffset(agents, slots);
        *(long*)(p + SessionSegmentLayout.SlotStrideOffset) = SessionSegmentLayout.SlotStride(inlineBytes);
    }

    private static void ValidateHeader(byte* p, long length, string path, int version)
    {
        // SAFETY (all loads): length >= HeaderBytes was checked; values are validated before any use as an offset.
        if (*(ulong*)(p + SessionSegmentLayout.MagicOffset) != SessionSegmentLayout.Magic)
        {
            throw new SharedRegionFormatException($"'{path}' is not a session file (bad magic).");
        }

        if (version == 0)
        {
            throw new SharedRegionFormatException($"Session file '{path}' never became ready (its creator died while writing it); delete it or run AgentSession.RemoveStale().");
        }

        if (version >> 16 != SessionSegmentLayout.MajorVersion)
        {
            throw new SharedRegionFormatException($"Session file '{path}' has layout {version >> 16}.{version & 0xFFFF}; this build reads {SessionSegmentLayout.MajorVersion}.x. Run agents built from the same version as the coordinator.");
        }

        int agents = *(int*)(p + SessionSegmentLayout.AgentCountOffset);
        int slots = *(int*)(p + SessionSegmentLayout.SlotCountOffset);
        int inlineBytes = *(int*)(p + SessionSegmentLayout.InlineBytesOffset);
        long dataLength = *(long*)(p + SessionSegmentLayout.SessionDataLengthOffset);
        try
        {
            SessionSegmentLayout.Validate(agents, slots, inlineBytes, dataLength);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new SharedRegionFormatException($"Session file '{path}' is damaged: {e.Message}");
        }

        long expected = SessionSegmentLayout.SizeOf(agents, slots, inlineBytes, dataLength);
        if (*(long*)(p + SessionSegmentLayout.TotalSizeOffset) != expected || length < expected
            || *(long*)(p + SessionSegmentLayout.TableOffsetOffset) != SessionSegmentLayout.TableOffset(agents, slots)
            || *(long*)(p + SessionSegmentLayout.SlotsOffsetOffset) != SessionSegmentLayout.SlotsOffset(agents, slots)
            || *(long*)(p + SessionSegmentLayout.SlotStrideOffset) != SessionSegmentLayout.SlotStride(inlineBytes)
            || *(long*)(p + SessionSegmentLayout.InboxesOffsetOffset) != SessionSegmentLayout.InboxesOffset(agents)
            || *(long*)(p + SessionSegmentLayout.InboxStrideOffset) != SessionSegmentLayout.InboxStride(slots)
            || *(long*)(p + SessionSegmentLayout.AgentsOffsetOffset) != SessionSegmentLayout.AgentsOffset
            || *(long*)(p + SessionSegmentLayout.SessionDataOffsetOffset) != SessionSegmentLayout.SessionDataOffset(agents, slots, inlineBytes))
        {
            throw new SharedRegionFormatException($"Session file '{path}' is damaged: its offsets do not match its geometry ({agents} agents, {slots} slots, {inlineBytes} inline bytes, {length} bytes on disk).");
        }
    }
}

// The mapped session control file (layout: SessionControlLayout). One coordinator creates it; every agent
// process of the session maps it. Ready protocol as the region's: the creator writes the header, then the
// version word LAST with a release store; openers read it with acquire and refuse 0 after a bounded wait.
// Writers: the job line and each agent's coordinator line are written by the coordinator's monitor thread
// only; each agent line by that agent's loop only. Every cross-process word is read/written with
// Volatile (acquire/release); counters have one writer, so plain Volatile stores suffice (no RMW needed).
// Death: an agent that dies leaves its counters as they were (the coordinator reads them as advisory and
// takes exact per-agent counts from the task table); a coordinator that dies leaves agents that notice
// through the registry (its flock) and exit.
using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;

namespace Unjucks.Agents.Processes;

/// <summary>Coordinator-to-agents command words and agent counters in a small mapped file.</summary>
internal sealed unsafe class SessionControl : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _base;

    private SessionControl(string path, MemoryMappedFile file, MemoryMappedViewAccessor view, byte* baseAddress, int agents)
    {
        FilePath = path;
        _file = file;
        _view = view;
        _base = baseAddress;
        AgentCount = agents;
    }

    internal string FilePath { get; }

    internal int AgentCount { get; }

    internal static string PathFor(string directory, string session) => Path.Combine(directory, session + ".ctl");

    internal static SessionControl Create(string directory, string session, int agents, int coordinatorSlot)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Agent sessions need Unix file modes and shared mappings; run on Linux.");
        }

        string path = PathFor(directory, session);
        long size = SessionControlLayout.SizeOf(agents);
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        try
        {
            stream.SetLength(size);
            var control = Map(path, stream, size, agents);
            byte* p = control._base;
            // SAFETY: the file is new (CreateNew) and nobody maps it before the version store below; all offsets
            // are inside SizeOf(agents) bytes.
            *(ulong*)(p + SessionControlLayout.MagicOffset) = SessionControlLayout.Magic;
            *(int*)(p + SessionControlLayout.AgentCountOffset) = agents;
            *(int*)(p + SessionControlLayout.CoordinatorSlotOffset) = coordinatorSlot;
            *(int*)(p + SessionControlLayout.CoordinatorPidOffset) = Environment.ProcessId;
            for (int i = 0; i < agents; i++)
            {
                *(int*)(p + SessionControlLayout.AgentOffset(i) + SessionControlLayout.RegistrySlotOffset) = -1;
            }

            // Release: the ready signal, written last; pairs with the acquire load of the version in Open.
            Volatile.Write(ref *(int*)(p + SessionControlLayout.VersionOffset), SessionControlLayout.Version);
            return control;
        }
        catch
        {
            stream.Dispose();
            File.Delete(path);
            throw;
        }
    }

    internal static SessionControl Open(string directory, string session, TimeSpan readyTimeout)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Agent sessions need Unix file modes and shared mappings; run on Linux.");
        }

        string path = PathFor(directory, session);
        var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            if ((File.GetUnixFileMode(stream.SafeFileHandle) & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            {
                throw new UnauthorizedAccessException(
                    $"Session control file '{path}' is writable by group or others; delete it (coordinators create it with mode 0600).");
            }

            long length = stream.Length;
            if (length < SessionControlLayout.AgentsOffset)
            {
                throw new InvalidDataException($"Session control file '{path}' is truncated ({length} bytes); the coordinator probably died creating it.");
            }

            // SAFETY: Map views `length` bytes; the header lies inside.
            var control = Map(path, stream, length, agents: 0);
            byte* p = control._base;
            long deadline = Stopwatch.GetTimestamp() + (long)(readyTimeout.TotalSeconds * Stopwatch.Frequency);
            // Acquire: pairs with the creator's release store of the version; the header is visible after it.
            int version = Volatile.Read(ref *(int*)(p + SessionControlLayout.VersionOffset));
            while (version == 0 && Stopwatch.GetTimestamp() < deadline)
            {
                Thread.Sleep(1);
                version = Volatile.Read(ref *(int*)(p + SessionControlLayout.VersionOffset)); // acquire, as above.
            }

            ulong magic = *(ulong*)(p + SessionControlLayout.MagicOffset);
            int agents = *(int*)(p + SessionControlLayout.AgentCountOffset);
            string? problem = version == 0 ? "it never became ready"
                : magic != SessionControlLayout.Magic ? $"wrong magic 0x{magic:X16}"
                : version >>> 16 != SessionControlLayout.MajorVersion ? $"layout major version {version >>> 16}, expected {SessionControlLayout.MajorVersion}"
                : agents < 1 || SessionControlLayout.SizeOf(agents) > length ? $"agent count {agents} does not fit its {length} bytes"
                : null;
            if (problem is not null)
            {
                control.Dispose();
                throw new InvalidDataException($"Session control file '{path}' is unusable: {problem}. Start a new session.");
            }

            var ready = new SessionControl(path, control._file, control._view, p, agents);
            control._base = null; // ownership moved to `ready`.
            return ready;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static SessionControl Map(string path, FileStream stream, long size, int agents)
    {
        var file = MemoryMappedFile.CreateFromFile(stream, null, size, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
        var view = file.CreateViewAccessor(0, size, MemoryMappedFileAccess.ReadWrite);
        byte* p = null;
        // SAFETY: the view stays mapped (pointer acquired) until Dispose releases it; PointerOffset moves to offset 0 of the file.
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        return new SessionControl(path, file, view, p + view.PointerOffset, agents);
    }

    internal int CoordinatorSlot => Volatile.Read(ref Int(SessionControlLayout.CoordinatorSlotOffset)); // immutable after ready.

    // Job line (coordinator writes, agents read).
    internal long JobWord => Volatile.Read(ref Long(SessionControlLayout.JobWordOffset)); // acquire: pairs with PublishJob's release.

    internal int JobTaskCount => Volatile.Read(ref Int(SessionControlLayout.JobTaskCountOffset)); // ordered after the JobWord acquire.

    internal int JobFlags => Volatile.Read(ref Int(SessionControlLayout.JobFlagsOffset)); // ordered after the JobWord acquire.

    internal void PublishJob(long seq, JobPhase phase, int taskCount, int flags)
    {
        Volatile.Write(ref Int(SessionControlLayout.JobTaskCountOffset), taskCount); // published by the release below.
        Volatile.Write(ref Int(SessionControlLayout.JobFlagsOffset), flags); // published by the release below.
        // Release: the job segment and payloads were created before; pairs with the agents' acquire of JobWord.
        Volatile.Write(ref Long(SessionControlLayout.JobWordOffset), SessionControlLayout.PackJob(seq, phase));
        Interlocked.MemoryBarrier(); // store-load: the caller next reads agents' run states to decide whether to wake them.
    }

    internal bool StopRequested => Volatile.Read(ref Int(SessionControlLayout.StopOffset)) != 0; // acquire: pairs with RequestStop.

    internal void RequestStop() => Volatile.Write(ref Int(SessionControlLayout.StopOffset), 1); // release; pairs with StopRequested.

    // Coordinator line of agent i.
    internal bool IsActive(int agent) => Volatile.Read(ref AgentInt(agent, SessionControlLayout.ActiveOffset)) != 0; // acquire: pairs with SetActive.

    internal void SetActive(int agent, bool active)
    {
        // Release, then a full fence (store-load): the coordinator next steals from an inactive agent's deque and
        // reads its run state; pairs with the agent's acquire load in IsActive before every pop.
        Volatile.Write(ref AgentInt(agent, SessionControlLayout.ActiveOffset), active ? 1 : 0);
        Interlocked.MemoryBarrier();
    }

    // Agent line of agent i (the agent writes; the coordinator reads).
    internal int RegistrySlot(int agent) => Volatile.Read(ref AgentInt(agent, SessionControlLayout.RegistrySlotOffset)); // acquire: pairs with PublishRegistration.

    internal int Pid(int agent) => Volatile.Read(ref AgentInt(agent, SessionControlLayout.PidOffset)); // ordered after RegistrySlot's acquire.

    internal void PublishRegistration(int agent, int slot)
    {
        Volatile.Write(ref AgentInt(agent, SessionControlLayout.PidOffset), Environment.ProcessId); // published by the release below.
        Volatile.Write(ref AgentInt(agent, SessionControlLayout.RegistrySlotOffset), slot); // release: pairs with RegistrySlot's acquire.
    }

    internal AgentRunState RunState(int agent) => (AgentRunState)Volatile.Read(ref AgentInt(agent, SessionControlLayout.RunStateOffset)); // acquire.

    /// <summary>Publishes the agent's state; a full fence (Exchange) so that an agent going Idle re-checks its
    /// queues only after the coordinator can see Idle (pairs with PublishJob's/placement's fence and run-state read).</summary>
    internal void SetRunState(int agent, AgentRunState state) => Interlocked.Exchange(ref AgentInt(agent, SessionControlLayout.RunStateOffset), (int)state);

    internal long FinishedJob(int agent) => Volatile.Read(ref AgentLong(agent, SessionControlLayout.FinishedJobOffset)); // acquire: pairs with SetFinishedJob.

    // Release: the agent's counters for that job were stored before; pairs with FinishedJob's acquire.
    internal void SetFinishedJob(int agent, long seq) => Volatile.Write(ref AgentLong(agent, SessionControlLayout.FinishedJobOffset), seq);

    internal long ReadCounter(int agent, int offset) => Volatile.Read(ref AgentLong(agent, offset)); // acquire; single writer.

    internal void WriteCounter(int agent, int offset, long value) => Volatile.Write(ref AgentLong(agent, offset), value); // release; single writer (the agent loop).

    /// <summary>The agent's managed heap bytes (GC.GetTotalMemory(false)) as of its last heartbeat; 0 before the first.</summary>
    internal long HeapBytes(int agent) => ReadCounter(agent, SessionControlLayout.HeapBytesOffset);

    // Release; the only writer of this field is the agent's heartbeat timer (the loop never writes it).
    internal void PublishHeapBytes(int agent, long bytes) => Volatile.Write(ref AgentLong(agent, SessionControlLayout.HeapBytesOffset), bytes);

    internal AgentCounterSnapshot ReadCounters(int agent) => new(
        ReadCounter(agent, SessionControlLayout.CommitsOffset),
        ReadCounter(agent, SessionControlLayout.LostCommitsOffset),
        ReadCounter(agent, SessionControlLayout.FailuresOffset),
        ReadCounter(agent, SessionControlLayout.StealsOffset),
        ReadCounter(agent, SessionControlLayout.StolenIdsOffset),
        ReadCounter(agent, SessionControlLayout.StealAttemptsOffset),
        ReadCounter(agent, SessionControlLayout.HandlerTicksOffset),
        ReadCounter(agent, SessionControlLayout.LoopTicksOffset),
        ReadCounter(agent, SessionControlLayout.ParkedTicksOffset));

    private ref int Int(int offset)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        // SAFETY: offsets are layout constants inside the header lines, which lie inside the validated mapping.
        return ref Unsafe.AsRef<int>(_base + offset);
    }

    private ref long Long(int offset)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        // SAFETY: as Int; 8-aligned layout offsets.
        return ref Unsafe.AsRef<long>(_base + offset);
    }

    private ref int AgentInt(int agent, int offset) => ref Int(CheckedAgentOffset(agent) + offset);

    private ref long AgentLong(int agent, int offset) => ref Long(CheckedAgentOffset(agent) + offset);

    private int CheckedAgentOffset(int agent)
    {
        if ((uint)agent >= (uint)AgentCount)
        {
            throw new ArgumentOutOfRangeException(nameof(agent), agent, $"This session has agents 0 to {AgentCount - 1}.");
        }

        return SessionControlLayout.AgentOffset(agent);
    }

    public void Dispose()
    {
        if (_base == null)
        {
            return;
        }

        _base = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}

/// <summary>An agent's cumulative counters (session-wide; per job = difference of two snapshots).</summary>
internal readonly record struct AgentCounterSnapshot(
    long Commits, long LostCommits, long Failures, long Steals, long StolenIds, long StealAttempts,
    long HandlerTicks, long LoopTicks, long ParkedTicks)
{
    internal AgentCounterSnapshot Minus(AgentCounterSnapshot o) => new(
        Commits - o.Commits, LostCommits - o.LostCommits, Failures - o.Failures, Steals - o.Steals,
        StolenIds - o.StolenIds, StealAttempts - o.StealAttempts, HandlerTicks - o.HandlerTicks,
        LoopTicks - o.LoopTicks, ParkedTicks - o.ParkedTicks);
}

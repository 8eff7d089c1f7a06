// A job segment mapped from a file: header + per-agent deques + per-agent inboxes + task table (JobSegmentLayout).
// Ready protocol (as the region's): the creator writes everything, then the version word LAST with a release
// store; an opener reads the version with acquire and refuses 0 ("never became ready") after a bounded wait.
// The file is created 0600 (and its directory 0700 when we create it), so only this user can map it.
// Death: a creator that dies before the version store leaves a file that openers refuse; delete and recreate.
using System.Diagnostics;
using System.IO.MemoryMappedFiles;

namespace Unjucks.SharedMemory.Jobs;

/// <summary>
/// One job's deques and task table in a memory-mapped file shared by the coordinator and agent processes.
/// Dispose unmaps it; every handle obtained from it becomes invalid then.
/// </summary>
public sealed unsafe class JobSegment : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _base;

    private JobSegment(string path, MemoryMappedFile file, MemoryMappedViewAccessor view, byte* baseAddress, int agents, int dequeCapacity, int inboxCapacity, int taskCapacity)
    {
        FilePath = path;
        _file = file;
        _view = view;
        _base = baseAddress;
        AgentCount = agents;
        DequeCapacity = dequeCapacity;
        InboxCapacity = inboxCapacity;
        // SAFETY: the table offset lies inside the mapping (validated by the caller: Create sized it, Open checked it).
        Tasks = new SharedTaskTable(baseAddress + JobSegmentLayout.TableOffset(agents, dequeCapacity, inboxCapacity));
    }

    /// <summary>The mapped file.</summary>
    public string FilePath { get; }

    /// <summary>Number of agent deques.</summary>
    public int AgentCount { get; }

    /// <summary>Ids per agent deque.</summary>
    public int DequeCapacity { get; }

    /// <summary>Ids per agent inbox.</summary>
    public int InboxCapacity { get; }

    /// <summary>The task table.</summary>
    public SharedTaskTable Tasks { get; }

    /// <summary>Path of job <paramref name="jobName"/>'s segment file inside <paramref name="directory"/>.</summary>
    public static string PathFor(string directory, string jobName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(jobName);
        if (jobName.IndexOfAny(['/', '\\', '\0']) >= 0 || jobName is "." or "..")
        {
            throw new ArgumentException($"Job name '{jobName}' must be a plain file name (no separators).", nameof(jobName));
        }

        return Path.Combine(directory, jobName + ".job");
    }

    /// <summary>
    /// Creates a new segment file (mode 0600; fails if it exists) and maps it.
    /// </summary>
    /// <param name="directory">Directory next to the region file; created with mode 0700 if absent.</param>
    /// <param name="jobName">File name stem (the file is <c>jobName.job</c>).</param>
    /// <param name="agentCount">Agent deques, 1 to <see cref="JobSegmentLayout.MaxAgents"/>.</param>
    /// <param name="dequeCapacity">Ids per deque, a power of two.</param>
    /// <param name="taskCapacity">Task records.</param>
    /// <param name="inboxCapacity">Ids per agent inbox, a power of two; 0 means the deque capacity.</param>
    /// <exception cref="IOException">The file already exists (delete the old job first).</exception>
    public static JobSegment Create(string directory, string jobName, int agentCount, int dequeCapacity, int taskCapacity, int inboxCapacity = 0)
    {
        string path = PathFor(directory, jobName);
        if (inboxCapacity == 0)
        {
            inboxCapacity = dequeCapacity;
        }

        long size = JobSegmentLayout.SizeOf(agentCount, dequeCapacity, inboxCapacity, taskCapacity);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Job segments need Unix file modes (0600/0700) and shared mappings; run on Linux.");
        }

        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        var stream = new FileStream(path, options);
        MemoryMappedFile? file = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            stream.SetLength(size);
            file = MemoryMappedFile.CreateFromFile(stream, null, size, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            view = file.CreateViewAccessor(0, size, MemoryMappedFileAccess.ReadWrite);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            p += view.PointerOffset;
            // SAFETY: the file is new (CreateNew) and nobody opens it before the version store below, so we are its
            // only user; the view spans `size` bytes.
            JobSegmentLayout.WriteHeader(new Span<byte>(p, JobSegmentLayout.HeaderBytes), agentCount, dequeCapacity, inboxCapacity, taskCapacity, Environment.ProcessId);
            for (int i = 0; i < agentCount; i++)
            {
                // SAFETY: DequeOffset(i) + stride <= InboxesOffset <= size.
                TaskDequeLayout.Initialize(p + JobSegmentLayout.DequeOffset(i, dequeCapacity), dequeCapacity);
                // SAFETY: InboxOffset(i) + inbox stride <= TableOffset <= size.
                TaskInboxLayout.Initialize(p + JobSegmentLayout.InboxOffset(i, agentCount, dequeCapacity, inboxCapacity), inboxCapacity);
            }

            // SAFETY: TableOffset + TaskTableLayout.SizeOf(taskCapacity) == size.
            TaskTableLayout.Initialize(p + JobSegmentLayout.TableOffset(agentCount, dequeCapacity, inboxCapacity), taskCapacity);
            // Release: the ready signal, written last; pairs with the acquire load of the version word in Open.
            // SAFETY: VersionOffset is inside the header.
            Volatile.Write(ref *(int*)(p + JobSegmentLayout.VersionOffset), JobSegmentLayout.Version);
            return new JobSegment(path, file, view, p, agentCount, dequeCapacity, inboxCapacity, taskCapacity);
        }
        catch
        {
            view?.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            if (file is not null)
            {
                file.Dispose();
            }
            else
            {
                stream.Dispose();
            }

            File.Delete(path);
            throw;
        }
    }

    /// <summary>Maps an existing segment, waiting up to <paramref name="readyTimeout"/> for its creator to mark it ready.</summary>
    /// <exception cref="FileNotFoundException">No such job segment.</exception>
    /// <exception cref="JobSegmentFormatException">Bad magic, another major version, inconsistent header, truncated file, never ready.</exception>
    /// <exception cref="UnauthorizedAccessException">The file is writable by group or others.</exception>
    public static JobSegment Open(string directory, string jobName, TimeSpan readyTimeout = default)
    {
        string path = PathFor(directory, jobName);
        var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(stream.SafeFileHandle) & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            stream.Dispose();
            throw new UnauthorizedAccessException(
                $"Job segment '{path}' is writable by group or others; another user could corrupt the job. Delete it (the coordinator creates segments with mode 0600).");
        }

        long length = stream.Length;
        if (length < JobSegmentLayout.HeaderBytes)
        {
            stream.Dispose();
            JobSegmentLayout.Validate(default, 0, length, path); // throws "truncated".
        }

        MemoryMappedFile? file = null;
        MemoryMappedViewAccessor? view = null;
        bool pointerHeld = false;
        try
        {
            file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.ReadWrite);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            pointerHeld = true;
            p += view.PointerOffset;
            // Acquire: pairs with the creator's release store of the version word; the header, deques and table
            // written before it are visible once we read a non-zero version.
            // SAFETY: length >= HeaderBytes, so the version word is inside the view.
            int version = Volatile.Read(ref *(int*)(p + JobSegmentLayout.VersionOffset));
            long deadline = Stopwatch.GetTimestamp() + (long)(readyTimeout.TotalSeconds * Stopwatch.Frequency);
            while (version == 0 && Stopwatch.GetTimestamp() < deadline)
            {
                Thread.Sleep(1);
                version = Volatile.Read(ref *(int*)(p + JobSegmentLayout.VersionOffset)); // acquire, as above.
            }

            // SAFETY: the header lies inside the view (length checked above).
            var (agents, dequeCapacity, inboxCapacity, taskCapacity) = JobSegmentLayout.Validate(new ReadOnlySpan<byte>(p, JobSegmentLayout.HeaderBytes), version, length, path);
            return new JobSegment(path, file, view, p, agents, dequeCapacity, inboxCapacity, taskCapacity);
        }
        catch
        {
            if (pointerHeld)
            {
                view!.SafeMemoryMappedViewHandle.ReleasePointer();
            }

            view?.Dispose();
            if (file is not null)
            {
                file.Dispose();
            }
            else
            {
                stream.Dispose();
            }

            throw;
        }
    }

    /// <summary>Removes a job's segment file (mapped views stay valid until disposed).</summary>
    /// <returns>False when there was no such file.</returns>
    public static bool Delete(string directory, string jobName)
    {
        string path = PathFor(directory, jobName);
        if (!File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        return true;
    }

    /// <summary>The owner handle of agent <paramref name="agent"/>'s deque; only that agent's worker thread uses it.</summary>
    public SharedTaskDeque Deque(int agent) => new(DequeBase(agent));

    /// <summary>A stealer handle on agent <paramref name="agent"/>'s deque, for any thread of any process.</summary>
    public SharedTaskStealer Stealer(int agent) => new(DequeBase(agent));

    /// <summary>Agent <paramref name="agent"/>'s inbox: the coordinator enqueues (one thread), the agent dequeues.</summary>
    public SharedTaskInbox Inbox(int agent)
    {
        CheckAgent(agent);
        // SAFETY: agent < AgentCount, so the inbox block lies inside the validated mapping.
        return new SharedTaskInbox(_base + JobSegmentLayout.InboxOffset(agent, AgentCount, DequeCapacity, InboxCapacity));
    }

    private void CheckAgent(int agent)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        if ((uint)agent >= (uint)AgentCount)
        {
            throw new ArgumentOutOfRangeException(nameof(agent), agent, $"This job segment has agents 0 to {AgentCount - 1}.");
        }
    }

    private byte* DequeBase(int agent)
    {
        CheckAgent(agent);
        // SAFETY: agent < AgentCount, so the deque block lies inside the validated mapping.
        return _base + JobSegmentLayout.DequeOffset(agent, DequeCapacity);
    }

    /// <inheritdoc/>
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

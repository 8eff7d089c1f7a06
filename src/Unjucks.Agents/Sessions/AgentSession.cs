using System.Diagnostics;
using Unjucks.Agents.Sessions;
using Unjucks.Agents.Sessions.Transport;
using Unjucks.SharedMemory.Sessions;

namespace Unjucks.Agents;

/// <summary>
/// A supervised set of agent processes that run your tasks exactly once: submit payloads (with dependencies),
/// get results of any size back, and let the session replace dead agents, retry their tasks, and move work
/// away from stalled ones. Agents are this program started again (see <see cref="AgentHost"/>), coordinating
/// through one shared-memory file whose size depends on the agent count and <see cref="AgentSessionOptions.MaxTasksInFlight"/>,
/// never on how many tasks run.
/// </summary>
/// <example>
/// <code>
/// if (AgentHost.IsAgentInvocation(args))
///     return await AgentHost.RunAsync(args, (task, ct) => ValueTask.FromResult&lt;ReadOnlyMemory&lt;byte&gt;&gt;(task.Payload.ToArray()));
/// await using var session = await AgentSession.StartAsync(new AgentSessionOptions { Agents = 4 });
/// var a = await session.SubmitAsync("a"u8.ToArray());
/// var b = await session.SubmitAsync("b"u8.ToArray(), [a]);   // runs after a, receives a's result
/// var summary = await session.CompleteAsync();
/// </code>
/// </example>
public sealed class AgentSession : IAsyncDisposable
{
    private readonly SessionCoordinator _coordinator;
    private long _nextId;
    private int _state; // 0 open, 1 completing, 2 disposed

    private AgentSession(SessionCoordinator coordinator) => _coordinator = coordinator;

    /// <summary>The path of the session's shared file (for diagnostics).</summary>
    public string FilePath => _coordinator.Segment.FilePath;

    /// <summary>Tasks submitted and not yet ended (waiting for dependencies, queued or running): the queue depth, the
    /// same value as the <c>unjucks.agents.tasks.in_flight</c> gauge.</summary>
    public long InFlight => _coordinator.InFlight;

    /// <summary>Bytes of <see cref="AgentSessionOptions.MemoryBudgetBytes"/> reserved now by the tasks placed (the
    /// <c>unjucks.agents.memory.reserved</c> gauge); 0 without a budget.</summary>
    public long MemoryReserved => _coordinator.MemoryReserved;

    /// <summary>Tasks whose dependencies committed and that wait for their memory reservation to fit the budget (the
    /// <c>unjucks.agents.tasks.waiting_for_memory</c> gauge).</summary>
    public int TasksWaitingForMemory => _coordinator.TasksWaitingForMemory;

    /// <summary>The agents' summed proportional set size (PSS) at the last reading, every 500 ms (the
    /// <c>unjucks.agents.memory.measured</c> gauge; 0 without <see cref="AgentSessionOptions.MemoryBudgetBytes"/>). With
    /// <see cref="MemoryReserved"/>, the larger of the two over the budget is the memory pressure.</summary>
    public long MemoryMeasured => _coordinator.MemoryMeasured;

    /// <summary>Coordinated GC rounds started so far (the <c>unjucks.agents.gc.rounds</c> counter): the memory pressure
    /// reached 0.8, and each live agent collected between two tasks.</summary>
    public long GcRounds => _coordinator.GcRounds;

    /// <summary>Agents taking work now (the <c>unjucks.agents.agents.active</c> gauge): all live ones for a fixed count,
    /// the adaptive count's current value with <see cref="AgentSessionOptions.Concurrency"/>.</summary>
    public int ActiveAgents => _coordinator.ActiveAgents;

    /// <summary>The adaptive count's changes so far with the controller's reasons, starting with its initial count
    /// (empty for a fixed count).</summary>
    public IReadOnlyList<ActiveAgentsChange> ActiveAgentsHistory => _coordinator.ActiveAgentsHistory;

    /// <summary>The process id of each agent slot's current process (0 while it is being replaced).</summary>
    public IReadOnlyList<int> AgentProcessIds
    {
        get
        {
            var pids = new int[_coordinator.Segment.AgentCount];
            for (int i = 0; i < pids.Length; i++)
            {
                pids[i] = _coordinator.AgentPid(i);
            }

            return pids;
        }
    }

    /// <summary>Creates the session's shared file and starts its agent processes (it does not wait for them to register:
    /// tasks submitted meanwhile wait in their inboxes).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (the message says which).</exception>
    /// <exception cref="InvalidOperationException">The agent program cannot be started.</exception>
    /// <exception cref="IOException">The session file cannot be created (e.g. /dev/shm is full).</exception>
    /// <exception cref="UnauthorizedAccessException">The session folder is not private to this user.</exception>
    public static async Task<AgentSession> StartAsync(AgentSessionOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options = options.Snapshot();
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        string directory = SessionFiles.ResolveDirectory(options.Directory);
        string path = SessionFiles.SegmentPath(directory, SessionFiles.NewName());
        var segment = SessionSegment.Create(path, options.EffectiveAgents, options.EffectiveMaxTasksInFlight, options.InlineBytes,
            options.SessionData.Span, options.StallTimeout / 4);
        var coordinator = new SessionCoordinator(options, segment);
        try
        {
            await coordinator.StartAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await coordinator.StopAsync().ConfigureAwait(false);
            throw;
        }

        return new AgentSession(coordinator);
    }

    /// <summary>Submits a task; waits while <see cref="AgentSessionOptions.MaxTasksInFlight"/> tasks are unfinished.</summary>
    /// <param name="payload">The task's input (copied; any length).</param>
    /// <param name="dependsOn">Tasks of this session that must commit first; their results reach the handler in this order.
    /// If one fails, this task fails with <see cref="AgentTaskFailedException.DependencyFailed"/>.</param>
    /// <param name="cancellationToken">Cancels the wait for room in the window.</param>
    /// <returns>The task's handle; await <see cref="AgentTaskHandle.Result"/> for its result.</returns>
    /// <exception cref="ArgumentException">A dependency belongs to another session, or is null.</exception>
    /// <exception cref="InvalidOperationException">CompleteAsync was called, or the session's coordinator failed.</exception>
    /// <exception cref="ObjectDisposedException">The session was disposed.</exception>
    public ValueTask<AgentTaskHandle> SubmitAsync(ReadOnlyMemory<byte> payload, IReadOnlyList<AgentTaskHandle>? dependsOn = null, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(payload, Validate(dependsOn), 0, cancellationToken);

    /// <summary>Submits a task with its dependencies and memory estimate (see <see cref="AgentTaskOptions"/>); waits
    /// while <see cref="AgentSessionOptions.MaxTasksInFlight"/> tasks are unfinished. A task that reserves memory
    /// then waits in the session, not here, until its reservation fits the budget.</summary>
    /// <param name="payload">The task's input (copied; any length).</param>
    /// <param name="options">Dependencies and <see cref="AgentTaskOptions.EstimatedMemoryBytes"/>.</param>
    /// <param name="cancellationToken">Cancels the wait for room in the window.</param>
    /// <returns>The task's handle; await <see cref="AgentTaskHandle.Result"/> for its result.</returns>
    /// <exception cref="ArgumentException">A dependency belongs to another session or is null, the estimate is negative,
    /// or it is larger than the whole <see cref="AgentSessionOptions.MemoryBudgetBytes"/> (it could never start).</exception>
    /// <exception cref="InvalidOperationException">CompleteAsync was called, or the session's coordinator failed.</exception>
    /// <exception cref="ObjectDisposedException">The session was disposed.</exception>
    public ValueTask<AgentTaskHandle> SubmitAsync(ReadOnlyMemory<byte> payload, AgentTaskOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        long memory = options.EstimatedMemoryBytes;
        if (memory < 0)
        {
            throw new ArgumentException($"EstimatedMemoryBytes is {memory}; it is 0 (none) or a positive number of bytes.", nameof(options));
        }

        long budget = _coordinator.MemoryBudgetBytes;
        if (budget > 0 && memory > budget)
        {
            throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"The task needs {memory:N0} bytes (EstimatedMemoryBytes) but the session's whole memory budget is {budget:N0} bytes (MemoryBudgetBytes), so it could never start. Raise the budget or split the task."),
                nameof(options));
        }

        return SubmitCoreAsync(payload, Validate(options.DependsOn), budget > 0 ? memory : 0, cancellationToken);
    }

    private async ValueTask<AgentTaskHandle> SubmitCoreAsync(ReadOnlyMemory<byte> payload, AgentTaskHandle[] deps, long memoryBytes, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        await _coordinator.Window.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (Volatile.Read(ref _state) != 0 || _coordinator.Fatal is not null) // acquire: pairs with CompleteAsync/DisposeAsync.
        {
            _coordinator.Window.Release();
            ThrowIfClosed();
        }

        long id = Interlocked.Increment(ref _nextId) - 1; // ids in submission order; the increment orders nothing else.
        var handle = new AgentTaskHandle(this, id, payload.ToArray(), deps) { EstimatedMemoryBytes = memoryBytes };
        (handle.Activity, handle.TraceParent) = SessionTelemetry.StartTask(id);
        _coordinator.Submit(handle);
        return handle;
    }

    /// <summary>No more submissions: waits for every task to end and returns the summary. Failed tasks are counted,
    /// not thrown (their handles carry the failures).</summary>
    /// <param name="cancellationToken">Cancels the wait only; the session keeps running until disposed.</param>
    public async Task<AgentSessionSummary> CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) == 2) // full fence: later SubmitAsync calls see 1.
        {
            throw new ObjectDisposedException(nameof(AgentSession));
        }

        await _coordinator.DrainAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_coordinator.Fatal is { } fatal)
        {
            throw new InvalidOperationException("The session's coordinator failed: " + fatal.Message, fatal);
        }

        return _coordinator.Summary();
    }

    /// <summary>Stops the agents (killing those that do not exit within <see cref="AgentSessionOptions.StopTimeout"/>),
    /// fails unfinished tasks with <see cref="AgentTaskFailedException.SessionStopped"/>, and deletes every file of the session.</summary>
    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _state, 2); // full fence: SubmitAsync and CompleteAsync see the session closed.
        await _coordinator.StopAsync().ConfigureAwait(false);
    }

    /// <summary>Removes every file of the sessions in <paramref name="directory"/> whose coordinator process is gone
    /// (killed, crashed), and returns the paths removed. Live sessions are left alone.</summary>
    /// <param name="directory">The session folder; default the per-user folder under /dev/shm.</param>
    public static IReadOnlyList<string> RemoveStale(string? directory = null) => SessionFiles.RemoveStale(directory);

    private AgentTaskHandle[] Validate(IReadOnlyList<AgentTaskHandle>? dependsOn)
    {
        if (dependsOn is null || dependsOn.Count == 0)
        {
            return [];
        }

        var deps = new AgentTaskHandle[dependsOn.Count];
        for (int i = 0; i < deps.Length; i++)
        {
            var d = dependsOn[i] ?? throw new ArgumentException($"dependsOn[{i}] is null.", nameof(dependsOn));
            if (!ReferenceEquals(d.Session, this))
            {
                throw new ArgumentException($"dependsOn[{i}] (task {d.Id}) belongs to another session; a task can depend only on tasks of its own session.", nameof(dependsOn));
            }

            deps[i] = d;
        }

        return deps;
    }

    private void ThrowIfClosed()
    {
        switch (Volatile.Read(ref _state)) // acquire: pairs with the interlocked writes in CompleteAsync/DisposeAsync.
        {
            case 1:
                throw new InvalidOperationException("CompleteAsync was called: the session takes no more tasks.");
            case 2:
                throw new ObjectDisposedException(nameof(AgentSession));
        }

        if (_coordinator.Fatal is { } fatal)
        {
            throw new InvalidOperationException("The session's coordinator failed: " + fatal.Message, fatal);
        }
    }
}

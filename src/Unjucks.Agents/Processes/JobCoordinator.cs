// The coordinator side of a session (docs/agent-processes.md, "Coordinator and agent host"): creates the region
// and the session control file, starts N agent processes through the caller's launcher, waits until each one has
// registered (or N agent threads of this process, StartInProcessAsync: same engine), runs jobs one after another (JobRun), grows or shrinks the active agent count (adaptive), and stops
// the agents and removes the files at the end.
using System.Diagnostics;
using Unjucks.Agents.Gc;
using Unjucks.SharedMemory;

namespace Unjucks.Agents.Processes;

/// <summary>An agent process of a session.</summary>
/// <param name="Index">Agent index (0 to agent count - 1).</param>
/// <param name="Pid">Process id.</param>
/// <param name="RegistrySlot">Slot in the region's agent registry.</param>
internal sealed record AgentProcessInfo(int Index, int Pid, int RegistrySlot);

/// <summary>
/// Runs jobs on agent processes that coordinate through a shared region: placement on per-agent deques,
/// cross-process stealing, leases with exactly-once commits, recovery of dead agents. One job at a time.
/// </summary>
internal sealed class JobCoordinator : IAsyncDisposable
{
    private readonly JobCoordinatorOptions _options;
    private readonly AgentWorker[] _agents;
    private readonly SessionControl _control;
    private readonly Lock _activeGate = new();
    private readonly AdaptiveConcurrencyController? _controller;
    private readonly List<ActiveCountChange> _activeChanges = [];
    private readonly List<GcRoundResult> _jobGcRounds = [];
    private readonly GcPressureMonitor? _gcMonitor;
    private long _jobSeq;
    private int _running;
    private int _activeCount;
    private int _disposed;
    private long _wakes;
    private long _jobStartTicks;

    private JobCoordinator(JobCoordinatorOptions options, string session, string directory, SharedRegion region, SessionControl control, AgentWorker[] agents, AdaptiveConcurrencyController? controller)
    {
        _options = options;
        SessionName = session;
        Directory = directory;
        Region = region;
        _control = control;
        _agents = agents;
        _controller = controller;
        if (options.GcBudgetBytes is { } budget)
        {
            _gcMonitor = new GcPressureMonitor(budget, options.GcPressureThreshold, options.GcCooldown);
        }
    }

    /// <summary>The session name (file stems; also the region name).</summary>
    public string SessionName { get; }

    /// <summary>The directory holding the region, control file and job segments.</summary>
    public string Directory { get; }

    /// <summary>The session's region (for example for <c>CoordinatedGc.RunRoundAsync(Region, ...)</c>).</summary>
    public SharedRegion Region { get; }

    /// <summary>The agent processes (index, pid, registry slot).</summary>
    public IReadOnlyList<AgentProcessInfo> Agents => [.. _agents.Select(a => new AgentProcessInfo(a.Index, a.Pid, a.RegistrySlot))];

    /// <summary>The number of agents currently allowed to take work.</summary>
    public int ActiveAgentCount => Volatile.Read(ref _activeCount); // acquire; pairs with the write in SetActiveAgentCount.

    /// <summary>The adaptive controller, when <see cref="JobCoordinatorOptions.Adaptive"/> was given.</summary>
    public AdaptiveConcurrencyController? Controller => _controller;

    internal SessionControl Control => _control;

    /// <summary>The pressure monitor of the automatic GC rounds (null when <see cref="JobCoordinatorOptions.GcBudgetBytes"/> is null).</summary>
    internal GcPressureMonitor? GcMonitor => _gcMonitor;

    internal JobCoordinatorOptions Options => _options;

    internal AgentWorker[] AgentProcesses => _agents;

    /// <summary>
    /// Creates the session: region, control file, N agent processes from <paramref name="launcher"/>, and waits until
    /// each has registered. The coordinator redirects the agents' standard output and error (the error tail goes into
    /// <see cref="AgentStartupException"/>).
    /// </summary>
    /// <param name="options">Options.</param>
    /// <param name="launcher">Turns an <see cref="AgentLaunch"/> into a process to start (for example the CLI itself with a hidden <c>agent</c> subcommand and <see cref="AgentLaunch.ToArguments"/>).</param>
    /// <param name="cancellationToken">Cancels the start (agents started so far are killed).</param>
    /// <returns>The running session.</returns>
    /// <exception cref="AgentStartupException">An agent exited or did not register within <see cref="JobCoordinatorOptions.StartupTimeout"/>; names the agent and ends with its standard error.</exception>
    public static Task<JobCoordinator> StartAsync(JobCoordinatorOptions options, Func<AgentLaunch, ProcessStartInfo> launcher, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(launcher);
        return StartCoreAsync(
            options,
            launch => AgentProcess.Start(launch.AgentIndex, launcher(launch)
                ?? throw new InvalidOperationException($"The launcher returned no ProcessStartInfo for agent {launch.AgentIndex}.")),
            cancellationToken);
    }

    /// <summary>
    /// Creates the session like <see cref="StartAsync(JobCoordinatorOptions, Func{AgentLaunch, ProcessStartInfo}, CancellationToken)"/>,
    /// but with each agent a dedicated thread of THIS process instead of a child process: the thread runs
    /// <paramref name="runAgent"/>, which is expected to call <see cref="JobAgentHost.RunAsync"/> with
    /// <c>new AgentHostOptions(launch)</c>. Each agent opens its own region instance, so it registers its own registry
    /// slot (its own flock) and the engine (placement, deques, stealing, leases, recovery) is the same as with processes.
    /// Every agent's pid is this process's. Killing an agent cancels its token; a delegate that throws ends that agent
    /// (its exception text stands in for the standard error tail of <see cref="AgentStartupException"/>).
    /// </summary>
    /// <param name="options">Options.</param>
    /// <param name="runAgent">Runs one agent until the token is cancelled or the session stops.</param>
    /// <param name="cancellationToken">Cancels the start (agents started so far are cancelled).</param>
    /// <returns>The running session.</returns>
    /// <exception cref="AgentStartupException">An agent ended or did not register within <see cref="JobCoordinatorOptions.StartupTimeout"/>.</exception>
    public static Task<JobCoordinator> StartInProcessAsync(JobCoordinatorOptions options, Func<AgentLaunch, CancellationToken, Task> runAgent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(runAgent);
        return StartCoreAsync(options, launch => AgentThread.Start(launch.AgentIndex, launch, runAgent), cancellationToken);
    }

    private static async Task<JobCoordinator> StartCoreAsync(JobCoordinatorOptions options, Func<AgentLaunch, AgentWorker> start, CancellationToken cancellationToken)
    {
        options.Validate();
        string session = options.SessionName ?? SessionNames.NewSession();
        int n = options.AgentCount;
        var regionOptions = new SharedRegionOptions
        {
            Directory = options.Directory,
            StateSlots = options.StateSlots,
            MaxValueBytes = options.MaxPayloadBytes,
            MaxAgents = Math.Max(64, (2 * n) + 2),
        };
        var region = SharedRegion.CreateOrOpen(session, regionOptions);
        string directory = Path.GetDirectoryName(region.FilePath)!;
        SessionControl? control = null;
        var agents = new List<AgentWorker>();
        try
        {
            control = SessionControl.Create(directory, session, n, region.Agents.Register());
            AdaptiveConcurrencyController? controller = null;
            int active = n;
            if (options.Adaptive is { } adaptive)
            {
                controller = new AdaptiveConcurrencyController(adaptive);
                active = Math.Clamp(controller.Limit, 1, n); // limits above the agent count act as "all agents".
            }

            for (int i = 0; i < n; i++)
            {
                control.SetActive(i, i < active);
            }

            for (int i = 0; i < n; i++)
            {
                agents.Add(start(new AgentLaunch(session, directory, session, i)));
            }

            var coordinator = new JobCoordinator(options, session, directory, region, control, [.. agents], controller) { _activeCount = active };
            await coordinator.WaitForRegistrationAsync(cancellationToken).ConfigureAwait(false);
            return coordinator;
        }
        catch
        {
            foreach (AgentWorker a in agents)
            {
                a.Kill();
                a.Dispose();
            }

            control?.Dispose();
            region.Dispose();
            if (!options.KeepFiles)
            {
                DeleteFiles(session, directory);
            }

            throw;
        }
    }

    private async Task WaitForRegistrationAsync(CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.StartupTimeout.TotalSeconds * Stopwatch.Frequency);
        int delayMs = 1;
        while (true)
        {
            bool all = true;
            foreach (AgentWorker a in _agents)
            {
                if (a.RegistrySlot >= 0)
                {
                    continue;
                }

                int slot = _control.RegistrySlot(a.Index);
                if (slot >= 0 && Region.Agents.IsAlive(slot))
                {
                    a.RegistrySlot = slot;
                    continue;
                }

                if (a.HasExited)
                {
                    a.Kill(); // waits for the stderr pipe to drain.
                    throw new AgentStartupException(a.Index, a.ExitCode, a.StandardErrorTail, "exited before registering");
                }

                all = false;
            }

            if (all)
            {
                return;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                AgentWorker late = _agents.First(a => a.RegistrySlot < 0);
                late.Kill();
                throw new AgentStartupException(late.Index, null, late.StandardErrorTail,
                    $"did not register within {_options.StartupTimeout.TotalSeconds:0.#} s (pid {late.Pid}; check the launcher's command line and that the agent calls JobAgentHost.RunAsync)");
            }

            await Task.Delay(delayMs, ct).ConfigureAwait(false);
            delayMs = Math.Min(delayMs * 2, 50);
        }
    }

    /// <summary>Runs a job of <paramref name="taskCount"/> tasks without payloads (task ids 0 to taskCount - 1).</summary>
    /// <param name="taskCount">Tasks (0 returns an empty result).</param>
    /// <param name="progress">Receives snapshots every <see cref="JobCoordinatorOptions.ProgressInterval"/>, ON the coordinator's monitor thread: keep it short.</param>
    /// <param name="cancellationToken">Cancels the job (agents are told, then the job's files are removed).</param>
    /// <returns>Every task's result exactly once, and the summary.</returns>
    public Task<JobResult> RunAsync(int taskCount, IProgress<JobProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(taskCount);
        return RunCoreAsync(taskCount, null, progress, cancellationToken);
    }

    /// <summary>
    /// Runs a job whose task i has payload <paramref name="payloads"/>[i] (ids are the list indices). Payloads of up to
    /// <see cref="JobCoordinatorOptions.MaxPayloadBytes"/> are stored in the region's state table under the job's keys;
    /// larger inputs must be files whose path the payload names.
    /// </summary>
    /// <param name="payloads">One payload per task (may be empty).</param>
    /// <param name="progress">As in <see cref="RunAsync(int, IProgress{JobProgress}?, CancellationToken)"/>.</param>
    /// <param name="cancellationToken">Cancels the job.</param>
    /// <returns>Every task's result exactly once, and the summary.</returns>
    /// <exception cref="ArgumentException">A payload is larger than MaxPayloadBytes.</exception>
    public Task<JobResult> RunAsync(IReadOnlyList<ReadOnlyMemory<byte>> payloads, IProgress<JobProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        for (int i = 0; i < payloads.Count; i++)
        {
            if (payloads[i].Length > Region.State.MaxValueBytes)
            {
                throw new ArgumentException(
                    $"Payload of task {i} has {payloads[i].Length} bytes; the limit is {Region.State.MaxValueBytes} (JobCoordinatorOptions.MaxPayloadBytes). Put larger inputs in a file and pass its path.", nameof(payloads));
            }
        }

        return RunCoreAsync(payloads.Count, payloads, progress, cancellationToken);
    }

    private Task<JobResult> RunCoreAsync(int taskCount, IReadOnlyList<ReadOnlyMemory<byte>>? payloads, IProgress<JobProgress>? progress, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this); // acquire; pairs with DisposeAsync's Exchange.
        if (Interlocked.CompareExchange(ref _running, 1, 0) != 0) // full fence; one job at a time.
        {
            throw new InvalidOperationException("A job is already running on this coordinator; await it before starting another.");
        }

        long seq = ++_jobSeq;
        return Task.Factory.StartNew(
            () =>
            {
                try
                {
                    using var run = new JobRun(this, seq, taskCount, payloads, progress);
                    return run.Execute(ct);
                }
                finally
                {
                    Volatile.Write(ref _running, 0); // release; pairs with the CAS above.
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    /// <summary>
    /// Opens a job whose tasks are submitted while it runs (<see cref="StreamingJob.Submit"/>), each awaited on its own
    /// (<see cref="StreamingJob.Completion"/>). Only one job (streaming or not) runs at a time on a coordinator; the next
    /// can start once <see cref="StreamingJob.CompleteAsync"/> or <see cref="StreamingJob.DisposeAsync"/> has completed.
    /// </summary>
    /// <param name="maxTasks">The most tasks the job takes (its task table's capacity, 128 bytes each in the job segment).</param>
    /// <param name="progress">As in <see cref="RunAsync(int, IProgress{JobProgress}?, CancellationToken)"/> (total = tasks submitted so far).</param>
    /// <param name="cancellationToken">Cancels the whole job: outstanding completions are canceled, the job's files and keys removed.</param>
    /// <returns>The running job, once the agents were told about it.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxTasks"/> is less than 1.</exception>
    /// <exception cref="InvalidOperationException">A job is already running on this coordinator.</exception>
    public Task<StreamingJob> StartStreamingJobAsync(int maxTasks, IProgress<JobProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTasks, 1);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this); // acquire; pairs with DisposeAsync's Exchange.
        if (Interlocked.CompareExchange(ref _running, 1, 0) != 0) // full fence; one job at a time.
        {
            throw new InvalidOperationException("A job is already running on this coordinator; await it (or dispose the streaming job) before starting another.");
        }

        long seq = ++_jobSeq;
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var started = new TaskCompletionSource<StreamingJob>(TaskCreationOptions.RunContinuationsAsynchronously);
        var result = new TaskCompletionSource<JobResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Factory.StartNew(
            () =>
            {
                var run = new JobRun(this, seq, maxTasks, null, progress, streaming: true);
                JobResult? done = null;
                Exception? error = null;
                bool published = false;
                try
                {
                    cancel.Token.ThrowIfCancellationRequested();
                    run.Start();
                    published = true;
                    started.TrySetResult(new StreamingJob(run, seq, result.Task, cancel));
                    done = run.RunToEnd(cancel.Token);
                }
                catch (Exception e)
                {
                    error = e;
                    run.Abort(e is OperationCanceledException ? null : e);
                }
                finally
                {
                    run.Dispose();
                    Volatile.Write(ref _running, 0); // release; pairs with the CAS above. Before the results: the caller may start the next job at once.
                }

                if (!published)
                {
                    cancel.Dispose();
                    _ = error is OperationCanceledException ? started.TrySetCanceled(cancellationToken) : started.TrySetException(error!);
                }
                else if (done is not null)
                {
                    result.TrySetResult(done); // after the release above: awaiting CompleteAsync then starting another job never races.
                }
                else if (error is OperationCanceledException)
                {
                    result.TrySetCanceled(cancel.Token);
                }
                else
                {
                    result.TrySetException(error!);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        return started.Task;
    }

    /// <summary>
    /// Runs one coordinated GC round over the live agents (<see cref="CoordinatedGc.RunRoundAsync(SharedRegion, IReadOnlyList{GcTarget}, TimeSpan, CancellationToken)"/>
    /// with targets = every live agent's registry slot and pid): each agent pauses at its next safe point (between tasks, or
    /// at once when idle), a full blocking GC is induced in each one that paused, then all resume. Usable while a job runs
    /// (the job goes on afterwards; the round is listed in its <see cref="JobSummary.GcRounds"/>) and between jobs.
    /// </summary>
    /// <param name="ackTimeout">How long to wait for the agents to pause; one that does not is reported <see cref="GcAgentOutcome.TimedOut"/> and not collected.</param>
    /// <param name="cancellationToken">Cancels the round (the agents are resumed first).</param>
    /// <returns>Per agent: outcome, bytes before/after, gen-2 counts, GC time.</returns>
    /// <exception cref="GcRoundInProgressException">Another round (an automatic one, or another caller's) is running on this region.</exception>
    public async Task<GcRoundResult> RunGcRoundAsync(TimeSpan ackTimeout, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this); // acquire; pairs with DisposeAsync's Exchange.
        GcRoundResult result = await CoordinatedGc.RunRoundAsync(Region, LiveGcTargets(), ackTimeout, cancellationToken).ConfigureAwait(false);
        RecordGcRound(result);
        return result;
    }

    /// <summary>Registry slot and pid of every agent whose registration is alive.</summary>
    internal List<GcTarget> LiveGcTargets() =>
        [.. _agents.Where(a => a.RegistrySlot >= 0 && Region.Agents.IsAlive(a.RegistrySlot)).Select(a => new GcTarget(a.RegistrySlot, a.Pid))];

    /// <summary>Lists a finished round in the running job's summary (dropped between jobs).</summary>
    internal void RecordGcRound(GcRoundResult result)
    {
        lock (_activeGate)
        {
            if (Volatile.Read(ref _jobStartTicks) != 0) // acquire; pairs with JobStarted / TakeActiveChanges (also under the gate).
            {
                _jobGcRounds.Add(result);
            }
        }
    }

    internal IReadOnlyList<GcRoundResult> TakeGcRounds()
    {
        lock (_activeGate)
        {
            GcRoundResult[] rounds = [.. _jobGcRounds];
            _jobGcRounds.Clear();
            return rounds;
        }
    }

    /// <summary>Feeds one sample to the adaptive controller and applies its limit as the active agent count.</summary>
    /// <param name="sample">The observation (synthetic or measured).</param>
    /// <returns>The active agent count afterwards.</returns>
    /// <exception cref="InvalidOperationException">The coordinator was created without <see cref="JobCoordinatorOptions.Adaptive"/>.</exception>
    public int RecordSample(ConcurrencySample sample)
    {
        AdaptiveConcurrencyController controller = _controller
            ?? throw new InvalidOperationException("This coordinator has no adaptive controller; set JobCoordinatorOptions.Adaptive.");
        int limit = controller.Record(sample);
        SetActiveAgentCount(limit);
        return ActiveAgentCount;
    }

    /// <summary>
    /// Lets the first <paramref name="count"/> live agents (by index) take work and parks the others: a parked agent
    /// finishes its current task, takes nothing new, and its queued ids are re-placed on active agents.
    /// </summary>
    /// <param name="count">Active agents, clamped to 1..AgentCount.</param>
    public void SetActiveAgentCount(int count)
    {
        lock (_activeGate)
        {
            count = Math.Clamp(count, 1, _agents.Length);
            int old = ActiveAgentCount;
            int given = 0;
            foreach (AgentWorker a in _agents)
            {
                bool active = !a.Dead && given < count;
                if (active)
                {
                    given++;
                }

                if (_control.IsActive(a.Index) != active)
                {
                    _control.SetActive(a.Index, active);
                }
            }

            Volatile.Write(ref _activeCount, count); // release; pairs with ActiveAgentCount.
            if (old != count)
            {
                long start = Volatile.Read(ref _jobStartTicks); // acquire; pairs with JobStarted.
                _activeChanges.Add(new ActiveCountChange(start == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(start), old, count));
            }
        }

        Wake();
    }

    internal void JobStarted()
    {
        lock (_activeGate)
        {
            _activeChanges.Clear();
            _jobGcRounds.Clear();
            Volatile.Write(ref _jobStartTicks, Stopwatch.GetTimestamp()); // release; pairs with the read in SetActiveAgentCount.
        }
    }

    internal IReadOnlyList<ActiveCountChange> TakeActiveChanges()
    {
        lock (_activeGate)
        {
            Volatile.Write(ref _jobStartTicks, 0); // release; as above.
            return [.. _activeChanges];
        }
    }

    /// <summary>Bumps the region's change sequence (a state-table write), waking agents parked on it.</summary>
    internal void Wake()
    {
        long n = Interlocked.Increment(ref _wakes); // full fence: callers' stores to the control file and inboxes precede the bump.
        Region.State.Write(SessionNames.WakeKey(SessionName), BitConverter.GetBytes(n));
    }

    /// <summary>Stops the agents (stop flag, wake, wait up to StopTimeout, kill stragglers) and removes the session's files unless KeepFiles.</summary>
    /// <returns>A task that completes when the agents are gone.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) // full fence; pairs with the acquire in RunCoreAsync.
        {
            return;
        }

        try
        {
            _control.RequestStop();
            Wake();
        }
        catch (ObjectDisposedException)
        {
        }

        using var cts = new CancellationTokenSource(_options.StopTimeout);
        foreach (AgentWorker a in _agents)
        {
            try
            {
                await a.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Straggler: killed below.
            }
            catch (InvalidOperationException)
            {
            }
        }

        foreach (AgentWorker a in _agents)
        {
            a.Kill();
            a.Dispose();
        }

        _control.Dispose();
        Region.Dispose();
        if (!_options.KeepFiles)
        {
            DeleteFiles(SessionName, Directory);
        }
    }

    private static void DeleteFiles(string session, string directory)
    {
        try
        {
            SharedRegion.Delete(session, new SharedRegionOptions { Directory = directory });
            File.Delete(SessionControl.PathFor(directory, session));
            foreach (string job in System.IO.Directory.EnumerateFiles(directory, session + "-*.job"))
            {
                File.Delete(job);
            }
        }
        catch (IOException)
        {
            // Best effort: a file held by a straggler disappears with its last mapping.
        }
    }
}

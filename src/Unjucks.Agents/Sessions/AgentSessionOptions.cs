using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Unjucks.Agents;

/// <summary>How an <see cref="AgentSession"/> runs its agents. Every property has a sensible default. The session
/// copies the options when it starts: changing them afterwards changes nothing (they can be bound from configuration
/// through <c>IOptions&lt;AgentSessionOptions&gt;</c>, see the Unjucks.Agents.Hosting package).</summary>
public sealed class AgentSessionOptions
{
    /// <summary>Agent processes (1 to 1000). Default: <see cref="Environment.ProcessorCount"/>.</summary>
    public int Agents { get; set; } = Environment.ProcessorCount;

    /// <summary>How many of the agents take work. Null (the default): all <see cref="Agents"/>, always. An
    /// <see cref="AgentConcurrency"/> (for example <c>AgentConcurrency.Adaptive(1, 16)</c>): the session starts
    /// <see cref="AgentConcurrency.MaxAgents"/> agents (<see cref="Agents"/> is then not used) and moves the number
    /// that take work to the count with the highest measured throughput; the others wait on standby.</summary>
    public AgentConcurrency? Concurrency { get; set; }

    /// <summary>The program to start as an agent; the session appends its own arguments
    /// (<c>--unjucks-agent &lt;file&gt; &lt;index&gt; &lt;generation&gt;</c>), which <see cref="AgentHost.IsAgentInvocation"/>
    /// recognises. Default: this program started again (the same executable, or <c>dotnet app.dll</c>).</summary>
    public ProcessStartInfo? AgentProcess { get; set; }

    /// <summary>Runs the agents as threads of this process with this handler instead of starting processes: the same
    /// coordinator, placement, retries and exactly-once, without process isolation (for tests, debugging, and work
    /// that needs no separate address space). A thread cannot be killed: when the session ends an agent (lease
    /// time-out, stop) its token is cancelled, and a handler that ignores it for a second is abandoned, still
    /// running, while a new agent takes the slot. Default: null (processes, see <see cref="AgentProcess"/>).</summary>
    public AgentTaskHandler? InProcessHandler { get; set; }

    /// <summary>Bytes every agent reads through <see cref="AgentTask.SessionData"/> (up to 256 MiB).</summary>
    public ReadOnlyMemory<byte> SessionData { get; set; }

    /// <summary>Tasks submitted and not yet ended, at most (placed, waiting for dependencies or for an agent);
    /// <see cref="AgentSession.SubmitAsync(ReadOnlyMemory{byte}, IReadOnlyList{AgentTaskHandle}?, CancellationToken)"/>
    /// waits while the window is full. It also sizes the shared memory, which never grows with the task count.
    /// Default (0): 16 per agent and at least 256 (about 8.4 KiB of /dev/shm per task in flight, so 2.1 MiB at the
    /// floor). The floor is there for throughput: room in the window goes back to waiting submitters a quarter at
    /// a time, and a small window makes a tight submit loop wait, and hop threads, every few tasks.</summary>
    public int MaxTasksInFlight { get; set; }

    /// <summary>Runs a task may lose to its agent's death or to <see cref="LeaseTimeout"/> before it fails (default 3).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Start a new process for an agent that died (default true), after a back-off, at most
    /// <see cref="MaxRestartsPerMinute"/> times per agent slot per minute. Off: the session goes on with the
    /// agents that live and fails its tasks only when none is left.</summary>
    public bool RestartDeadAgents { get; set; } = true;

    /// <summary>Restarts allowed per agent slot in any minute (default 3).</summary>
    public int MaxRestartsPerMinute { get; set; } = 3;

    /// <summary>A task that runs longer than this has its agent killed and runs again elsewhere (a hung handler);
    /// default off.</summary>
    public TimeSpan? LeaseTimeout { get; set; }

    /// <summary>An agent whose heartbeat stops this long (SIGSTOP, a frozen machine) is stalled: its tasks that
    /// have not started move to other agents, and an alert is raised (default 2 s).</summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>An agent process that has not registered this long after its start is killed and replaced (default 30 s).</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long disposing waits for agents to exit before killing them (default 5 s).</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The folder of the session's files. Default: the per-user folder <c>/dev/shm/unjucks-&lt;uid&gt;</c> (0700).</summary>
    public string? Directory { get; set; }

    /// <summary>Receives agents' standard output and error lines (tagged with the agent index) and alerts.
    /// Default: agents' lines and alerts go to this process's standard error.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>Creates the session's <c>Unjucks.Agents</c> meter (dependency injection). Default: a meter of its own.</summary>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>The clock of the session's decisions (time-outs, back-off, stalls). Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Task input or output bytes kept in shared memory per slot; larger ones go through a file (default 4 KiB).</summary>
    internal int InlineBytes { get; set; } = 4096;

    internal int EffectiveMaxTasksInFlight => MaxTasksInFlight > 0 ? MaxTasksInFlight : Math.Max(DefaultMinTasksInFlight, 16 * EffectiveAgents);

    /// <summary>Agent slots the session runs: <see cref="Agents"/>, or the adaptive count's maximum.</summary>
    internal int EffectiveAgents => Concurrency?.MaxAgents ?? Agents;

    /// <summary>The default window's floor (see <see cref="MaxTasksInFlight"/>).</summary>
    internal const int DefaultMinTasksInFlight = 256;

    /// <summary>The memory budget used when <see cref="MemoryBudgetBytes"/> is 0: 128 MiB, as the seed's memory-aware
    /// scheduler.</summary>
    public const long DefaultMemoryBudgetBytes = MemoryBudget.DefaultCapacity;

    /// <summary>Bytes the tasks running at one time may reserve together through
    /// <see cref="AgentTaskOptions.EstimatedMemoryBytes"/>: a task waits (first in, first out) until its reservation
    /// fits. Null (the default): no budget. 0: <see cref="DefaultMemoryBudgetBytes"/>.</summary>
    public long? MemoryBudgetBytes { get; set; }

    /// <summary>The budget in force: 0 when there is none.</summary>
    internal long EffectiveMemoryBudgetBytes => MemoryBudgetBytes switch
    {
        null => 0,
        0 => DefaultMemoryBudgetBytes,
        { } bytes => bytes,
    };

    /// <summary>The copy a session keeps (the caller may go on changing this instance).</summary>
    internal AgentSessionOptions Snapshot() => (AgentSessionOptions)MemberwiseClone();

    internal void Validate()
    {
        if (Agents is < 1 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(Agents), Agents, "A session runs 1 to 1000 agents.");
        }

        Concurrency?.Validate();

        if (InProcessHandler is not null && AgentProcess is not null)
        {
            throw new ArgumentException("Set AgentProcess (agents as processes) or InProcessHandler (agents as threads), not both.", nameof(InProcessHandler));
        }

        if (MaxTasksInFlight < 0 || MaxTasksInFlight > 1 << 20)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTasksInFlight), MaxTasksInFlight, "MaxTasksInFlight is 0 (the default: 16 per agent, at least 256) to 1,048,576.");
        }

        if (MaxAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, "MaxAttempts is at least 1.");
        }

        if (MaxRestartsPerMinute < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRestartsPerMinute), MaxRestartsPerMinute, "MaxRestartsPerMinute is 0 or more.");
        }

        if (LeaseTimeout is { } lease && lease <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(LeaseTimeout), lease, "LeaseTimeout is positive, or null for none.");
        }

        if (StallTimeout < TimeSpan.FromMilliseconds(100))
        {
            throw new ArgumentOutOfRangeException(nameof(StallTimeout), StallTimeout, "StallTimeout is at least 100 ms (agents beat every quarter of it).");
        }

        if (StartTimeout <= TimeSpan.Zero || StopTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(StartTimeout), "StartTimeout is positive and StopTimeout is not negative.");
        }

        if (MemoryBudgetBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MemoryBudgetBytes), MemoryBudgetBytes, "MemoryBudgetBytes is positive, 0 for the default of 128 MiB, or null for no budget.");
        }

        if (SessionData.Length > 256 << 20)
        {
            throw new ArgumentOutOfRangeException(nameof(SessionData), SessionData.Length, "SessionData holds at most 256 MiB; pass larger inputs through files.");
        }
    }
}

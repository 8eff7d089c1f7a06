namespace Unjucks.Agents.Processes;

/// <summary>
/// One agent of a session as the coordinator sees it: a separate process (<see cref="AgentProcess"/>) or a thread of
/// the coordinator's own process (<see cref="AgentThread"/>). Either way the agent joins the session through its own
/// <c>SharedRegion</c> instance, so registration, liveness (a flock on its own open file description), placement,
/// stealing, leases and recovery are the same; only starting, "exited" and killing differ.
/// </summary>
internal abstract class AgentWorker : IDisposable
{
    protected AgentWorker(int index) => Index = index;

    internal int Index { get; }

    /// <summary>The process id that runs the agent (this process for a thread agent).</summary>
    internal int Pid { get; private protected set; }

    internal int RegistrySlot { get; set; } = -1;

    /// <summary>Set once the registry said dead (confirmed) or the agent exited; never cleared.</summary>
    internal bool Dead { get; set; }

    /// <summary>The agent has ended (process exited, or thread's run returned or threw).</summary>
    internal abstract bool HasExited { get; }

    /// <summary>Exit code once ended (a thread agent: 0 when its run returned, 1 when it threw).</summary>
    internal abstract int? ExitCode { get; }

    /// <summary>The end of the agent's standard error (a thread agent: the exception its run threw).</summary>
    internal abstract string StandardErrorTail { get; }

    /// <summary>Ends the agent now (SIGKILL for a process; cancelling its token for a thread) and waits a bounded time for it.</summary>
    internal abstract void Kill();

    /// <summary>Waits until the agent has ended.</summary>
    /// <param name="cancellationToken">Ends the wait (not the agent).</param>
    /// <returns>Completes when the agent has ended.</returns>
    internal abstract Task WaitForExitAsync(CancellationToken cancellationToken);

    public abstract void Dispose();
}

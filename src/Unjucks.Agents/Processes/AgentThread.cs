// An agent that runs as a dedicated thread of the coordinator's process (threads mode). The caller's delegate is
// expected to call JobAgentHost.RunAsync, which opens its OWN SharedRegion and SessionControl instances and registers
// in the region's agent registry: its flock is taken on its own open file description, so liveness probes from the
// coordinator (another descriptor) see it held exactly as for a separate process, and the kernel drops it when the
// agent's region is disposed. "Kill" cancels the agent's token (a thread cannot be killed); a leased task of a thread
// that ends is recovered like a dead process's, because its registry slot is freed when its region is disposed.
namespace Unjucks.Agents.Processes;

/// <summary>An in-process agent: a thread running the caller's agent delegate.</summary>
internal sealed class AgentThread : AgentWorker
{
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);
    private readonly CancellationTokenSource _cancel = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string _error = string.Empty;
    private int _exitCode;

    private AgentThread(int index)
        : base(index)
    {
        Pid = Environment.ProcessId;
    }

    internal static AgentThread Start(int index, AgentLaunch launch, Func<AgentLaunch, CancellationToken, Task> run)
    {
        var agent = new AgentThread(index);
        var thread = new Thread(() => agent.Run(launch, run))
        {
            IsBackground = true, // a straggler that ignores its token never keeps the tool alive.
            Name = $"unjucks-agent-{index}",
        };
        thread.Start();
        return agent;
    }

    private void Run(AgentLaunch launch, Func<AgentLaunch, CancellationToken, Task> run)
    {
        try
        {
            // JobAgentHost.RunAsync runs its loop on its own long-running task; this thread waits for the whole run.
            (run(launch, _cancel.Token) ?? Task.CompletedTask).GetAwaiter().GetResult();
            _exited.TrySetResult();
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            _exited.TrySetResult(); // killed: like a process's SIGKILL, not an error of its own.
        }
        catch (Exception e)
        {
            _error = e.ToString();
            _exitCode = 1;
            _exited.TrySetResult(); // publishes _error and _exitCode: completing the task is a full fence (CAS), read after HasExited.
        }
    }

    internal override bool HasExited => _exited.Task.IsCompleted;

    internal override int? ExitCode => HasExited ? Volatile.Read(ref _exitCode) : null; // acquire; the writes precede the task's completion in Run.

    internal override string StandardErrorTail => HasExited ? Volatile.Read(ref _error).TrimEnd() : string.Empty; // acquire; as above.

    internal override void Kill()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        // Bounded: a delegate that ignores its token stays behind as a background thread.
        _ = ((IAsyncResult)_exited.Task).AsyncWaitHandle.WaitOne(KillWait);
    }

    internal override Task WaitForExitAsync(CancellationToken cancellationToken) => _exited.Task.WaitAsync(cancellationToken);

    public override void Dispose()
    {
        if (_exited.Task.IsCompleted)
        {
            _cancel.Dispose(); // a running straggler keeps its source (Kill may still be called on it).
        }
    }
}

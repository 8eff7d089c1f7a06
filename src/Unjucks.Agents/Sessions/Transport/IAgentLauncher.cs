// How a session's agents come to life and end: processes (AgentProcesses, the default) or threads of the
// coordinator's process (AgentThreads, AgentSessionOptions.InProcessHandler). The coordinator drives either the
// same way: Start a slot's next generation, Kill it, read exits; neither decides anything.
namespace Unjucks.Agents.Sessions.Transport;

internal interface IAgentLauncher : IDisposable
{
    /// <summary>The generation of the slot's current agent (how many were started for it before).</summary>
    int Generation(int agent);

    /// <summary>The pid of the slot's current agent (0 before its start or after its exit); any thread.</summary>
    int Pid(int agent);

    /// <summary>True when an exit is waiting to be taken.</summary>
    bool HasExits { get; }

    /// <summary>Takes one reported exit (slot, generation, exit code).</summary>
    bool TryTakeExit(out (int Agent, int Generation, int ExitCode) exit);

    /// <summary>Starts the slot's next agent. Coordinator thread only.</summary>
    /// <exception cref="InvalidOperationException">It could not be started (the message says why).</exception>
    void Start(int agent);

    /// <summary>Ends the slot's current agent now; its exit is reported as usual.</summary>
    void Kill(int agent);

    /// <summary>Waits for every agent to end (the session asked them to stop), then kills those left after <paramref name="timeout"/>.</summary>
    void WaitAllThenKill(TimeSpan timeout);
}

// The agents of an in-process session (AgentSessionOptions.InProcessHandler): each one a dedicated thread of this
// process running the same agent loop as an agent process (AgentRuntime), over its own mapping of the session file.
// Same coordinator, same protocol, same exactly-once: only birth and death differ.
//   start: a new thread (large stack: handlers of deeply nested input recurse) per generation;
//   exit:  reported when the thread's loop returns, like a process exit;
//   kill:  a thread cannot be killed. The agent's token is cancelled; if the thread has not ended one second
//          later (its handler ignores the token), it is abandoned: its exit is reported so the session moves on
//          (the slot's held tasks are recovered and its next generation starts), and whatever the old thread
//          finishes later is refused by the table (its lease epoch is stale).
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Unjucks.Agents.Sessions.Transport;

internal sealed class AgentThreads : IAgentLauncher
{
    private const int StackBytes = 64 << 20;
    private const int AbandonedExitCode = 137; // as if SIGKILLed
    private static readonly TimeSpan AbandonAfter = TimeSpan.FromSeconds(1);

    private readonly AgentTaskHandler _handler;
    private readonly string _segmentPath;
    private readonly ILogger? _logger;
    private readonly Action _onExit;
    private readonly Lock _lock = new();
    private readonly Agent?[] _current;
    private readonly int[] _generations;
    private readonly int[] _pids;
    private readonly ConcurrentQueue<(int Agent, int Generation, int ExitCode)> _exits = new();

    internal AgentThreads(AgentTaskHandler handler, string segmentPath, int agents, ILogger? logger, Action onExit)
    {
        _handler = handler;
        _segmentPath = segmentPath;
        _logger = logger;
        _onExit = onExit;
        _current = new Agent?[agents];
        _generations = new int[agents];
        _pids = new int[agents];
    }

    public int Generation(int agent) => _generations[agent];

    public int Pid(int agent) => Volatile.Read(ref _pids[agent]); // acquire: pairs with the writes under _lock.

    public bool HasExits => !_exits.IsEmpty;

    public bool TryTakeExit(out (int Agent, int Generation, int ExitCode) exit) => _exits.TryDequeue(out exit);

    public void Start(int agent)
    {
        int generation = _current[agent] is null && _generations[agent] == 0 ? 0 : _generations[agent] + 1;
        _generations[agent] = generation;
        var a = new Agent(agent, generation);
        a.Thread = new Thread(() => Run(a), StackBytes) { IsBackground = true, Name = $"unjucks-agent {agent}.{generation}" };
        lock (_lock)
        {
            _current[agent] = a;
            Volatile.Write(ref _pids[agent], Environment.ProcessId); // release: AgentProcessIds readers see it.
        }

        a.Thread.Start();
    }

    public void Kill(int agent)
    {
        Agent? a;
        lock (_lock)
        {
            a = _current[agent];
        }

        if (a is null || Volatile.Read(ref a.Reported) != 0) // acquire: pairs with Report's exchange.
        {
            return;
        }

        a.Stop.Cancel();
        _ = Task.Delay(AbandonAfter).ContinueWith(_ => Abandon(a), TaskScheduler.Default);
    }

    public void WaitAllThenKill(TimeSpan timeout)
    {
        Agent?[] agents;
        lock (_lock)
        {
            agents = (Agent?[])_current.Clone();
        }

        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        foreach (var a in agents)
        {
            if (a is null)
            {
                continue;
            }

            if (!a.Thread!.Join((int)Math.Max(0, deadline - Environment.TickCount64)))
            {
                a.Stop.Cancel();
                if (!a.Thread.Join(AbandonAfter))
                {
                    Abandon(a);
                }
            }
        }
    }

    public void Dispose()
    {
        // The token sources stay: an abandoned thread may still read its token. They hold no unmanaged resources.
    }

    private void Run(Agent a)
    {
        int code;
        try
        {
            code = AgentRuntime.RunAsync(_segmentPath, a.Index, a.Generation, _handler, _logger, a.Stop.Token, inProcess: true).GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            _logger?.LogError(e, "Agent thread {Agent} failed.", a.Index);
            if (_logger is null)
            {
                Console.Error.WriteLine($"[agent {a.Index}] the agent thread failed: {e}");
            }

            code = 1;
        }

        Report(a, code);
    }

    private void Abandon(Agent a)
    {
        if (!a.Thread!.IsAlive || Volatile.Read(ref a.Reported) != 0) // acquire: pairs with Report's exchange.
        {
            return; // it ended (Run reports its exit), or was abandoned already.
        }

        string message = $"Agent thread {a.Index} did not stop within {AbandonAfter.TotalSeconds:0} s of being cancelled (its handler ignores the token); it is abandoned and the slot starts a new one.";
        if (_logger is null)
        {
            Console.Error.WriteLine("unjucks-agents: " + message);
        }
        else
        {
            _logger.LogWarning("{Message}", message);
        }

        Report(a, AbandonedExitCode);
    }

    private void Report(Agent a, int code)
    {
        if (Interlocked.Exchange(ref a.Reported, 1) != 0) // full fence; once per generation (thread end or abandonment).
        {
            return;
        }

        lock (_lock)
        {
            if (ReferenceEquals(_current[a.Index], a))
            {
                Volatile.Write(ref _pids[a.Index], 0); // release; a newer generation keeps its pid.
            }
        }

        _exits.Enqueue((a.Index, a.Generation, code));
        _onExit();
    }

    private sealed class Agent(int index, int generation)
    {
        internal readonly int Index = index;
        internal readonly int Generation = generation;
        internal readonly CancellationTokenSource Stop = new();
        internal Thread? Thread;
        internal int Reported;
    }
}

// The agent processes of one session: start (always from the coordinator's own long-lived thread, because
// PR_SET_PDEATHSIG fires when the THREAD that forked the child exits, and a thread-pool thread may retire),
// kill, reap, and forward their standard output and error as log lines tagged with the agent index.
// It decides nothing: the scheduler core says when to start or kill; exits are reported back as events.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Unjucks.Agents.Sessions.Transport;

internal sealed class AgentProcesses : IAgentLauncher
{
    internal const string AgentFlag = "--unjucks-agent";

    private readonly ProcessStartInfo _template;
    private readonly string _segmentPath;
    private readonly ILogger? _logger;
    private readonly Process?[] _processes;
    private readonly int[] _generations;
    private readonly int[] _pids;
    private readonly ConcurrentQueue<(int Agent, int Generation, int ExitCode)> _exits = new();
    private readonly Action _onExit;

    internal AgentProcesses(ProcessStartInfo? template, string segmentPath, int agents, ILogger? logger, Action onExit)
    {
        _template = template ?? DefaultProgram();
        _segmentPath = segmentPath;
        _logger = logger;
        _processes = new Process?[agents];
        _generations = new int[agents];
        _pids = new int[agents];
        _onExit = onExit;
    }

    /// <summary>The generation of the slot's current process (how many were started for it before).</summary>
    public int Generation(int agent) => _generations[agent];

    /// <summary>The pid of the slot's current process (0 before its start or after its exit); any thread.</summary>
    public int Pid(int agent) => Volatile.Read(ref _pids[agent]); // acquire: pairs with the writes in Start and Exited.

    public bool TryTakeExit(out (int Agent, int Generation, int ExitCode) exit) => _exits.TryDequeue(out exit);

    public bool HasExits => !_exits.IsEmpty;

    /// <summary>Starts a process for the slot. Call on the coordinator thread only.</summary>
    /// <exception cref="InvalidOperationException">The program could not be started (the message says which and why).</exception>
    public void Start(int agent)
    {
        int generation = _processes[agent] is null && _generations[agent] == 0 ? 0 : _generations[agent] + 1;
        _generations[agent] = generation;
        var psi = Copy(_template);
        string index = agent.ToString(CultureInfo.InvariantCulture);
        string gen = generation.ToString(CultureInfo.InvariantCulture);
        if (psi.Arguments.Length > 0)
        {
            // The template used the Arguments string (the two forms cannot be mixed): append ours, quoted.
            psi.Arguments += $" {AgentFlag} \"{_segmentPath}\" {index} {gen}";
        }
        else
        {
            psi.ArgumentList.Add(AgentFlag);
            psi.ArgumentList.Add(_segmentPath);
            psi.ArgumentList.Add(index);
            psi.ArgumentList.Add(gen);
        }
        psi.UseShellExecute = false;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = false;
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var startTime = new StrongBox<long>(); // set once started; read by the exit handler (another thread)
        process.OutputDataReceived += (_, e) => Log(agent, e.Data, error: false);
        process.ErrorDataReceived += (_, e) => Log(agent, e.Data, error: true);
        process.Exited += (_, _) =>
        {
            int code;
            try
            {
                code = process.ExitCode;
            }
            catch (InvalidOperationException)
            {
                code = -1;
            }

            Interlocked.CompareExchange(ref _pids[agent], 0, SafePid(process)); // full fence; only if no newer process took the slot.
            RemoveRuntimeLeftovers(SafePid(process), Volatile.Read(ref startTime.Value), psi); // acquire: pairs with the release below
            _exits.Enqueue((agent, generation, code));
            _onExit();
        };
        try
        {
            if (!process.Start())
            {
                throw new InvalidOperationException("Process.Start returned false.");
            }
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            process.Dispose();
            _processes[agent] = null;
            _exits.Enqueue((agent, generation, -1));
            throw new InvalidOperationException($"Could not start agent {agent} ('{psi.FileName}'): {e.Message}. Check AgentSessionOptions.AgentProcess.", e);
        }

        Volatile.Write(ref _pids[agent], SafePid(process)); // release: AgentProcessIds readers see it.
        // Release: the exit handler, on a thread-pool thread, reads it after the process is reaped.
        Volatile.Write(ref startTime.Value, Unjucks.SharedMemory.Native.ProcessIdentity.TryReadStartTime(SafePid(process)) ?? 0);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        DrainAndDispose(_processes[agent]);
        _processes[agent] = process;
    }

    /// <summary>The slot's previous process (it exited: the slot restarts only then): its last lines still in the
    /// pipes are forwarded before it is disposed, within <see cref="DrainBound"/> (a grandchild holding the pipes open
    /// must not stall the restart). Disposing it at once lost them, e.g. a hosted agent's "stopping" log entry.</summary>
    private static void DrainAndDispose(Process? previous)
    {
        if (previous is null)
        {
            return;
        }

        using (previous)
        {
            using var bound = new CancellationTokenSource(DrainBound);
            try
            {
                // WaitForExitAsync, unlike WaitForExit(int), waits for the redirected streams' end (dotnet/runtime#42585).
                previous.WaitForExitAsync(bound.Token).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Not drained within the bound, or never started: what was not read is dropped.
            }
        }
    }

    /// <summary>A killed (or crashed) agent leaves its runtime's debugger FIFOs and diagnostics socket in its
    /// temporary folder; the reaped process's are removed, matched by pid and start time (0: not read, nothing done).</summary>
    private static void RemoveRuntimeLeftovers(int pid, long startTime, ProcessStartInfo psi)
    {
        string? tmp = psi.Environment.TryGetValue("TMPDIR", out var t) && !string.IsNullOrEmpty(t) ? t : null;
        Unjucks.SharedMemory.Native.RuntimeIpcFiles.RemoveLeftovers(pid, startTime, tmp);
    }

    /// <summary>SIGKILL to the slot's current process (its exit is reported as usual).</summary>
    public void Kill(int agent)
    {
        try
        {
            _processes[agent]?.Kill();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already exited: its Exited event reports it.
        }
    }

    /// <summary>Waits for every process to exit, then kills those still running after <paramref name="timeout"/>.</summary>
    public void WaitAllThenKill(TimeSpan timeout)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        foreach (var p in _processes)
        {
            if (p is null)
            {
                continue;
            }

            int left = (int)Math.Max(0, (deadline - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency);
            try
            {
                if (!p.WaitForExit(left))
                {
                    p.Kill();
                    p.WaitForExit(5000);
                }

                p.WaitForExit(); // drains the redirected output (the streams end with the process).
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Never started, or already reaped.
            }
        }
    }

    /// <summary>Longest a restart waits for the previous process's output to be read.</summary>
    private static readonly TimeSpan DrainBound = TimeSpan.FromSeconds(2);

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            p?.Dispose();
        }
    }

    private void Log(int agent, string? line, bool error)
    {
        if (line is null)
        {
            return;
        }

        if (_logger is null)
        {
            Console.Error.WriteLine($"[agent {agent}] {line}");
            return;
        }

        // A line an agent's own console logger wrote ("warn: Category[0] text") keeps its level; any other line is
        // information on standard output and a warning on standard error.
        if (!AgentLogLine.TryParseLevel(line, out LogLevel level, out string text))
        {
            level = error ? LogLevel.Warning : LogLevel.Information; // text is the whole line
        }

        _logger.Log(level, "[agent {Agent}] {Line}", agent, text);
    }

    private static int SafePid(Process p)
    {
        try
        {
            return p.Id;
        }
        catch (InvalidOperationException)
        {
            return 0;
        }
    }

    private static ProcessStartInfo Copy(ProcessStartInfo t)
    {
        var psi = new ProcessStartInfo(t.FileName) { WorkingDirectory = t.WorkingDirectory };
        if (t.ArgumentList.Count > 0)
        {
            foreach (string a in t.ArgumentList)
            {
                psi.ArgumentList.Add(a);
            }
        }
        else if (!string.IsNullOrWhiteSpace(t.Arguments))
        {
            psi.Arguments = t.Arguments;
        }

        foreach (var (key, value) in t.Environment)
        {
            psi.Environment[key] = value;
        }

        return psi;
    }

    /// <summary>This program started again: the same executable, or the dotnet host with the entry assembly.</summary>
    private static ProcessStartInfo DefaultProgram()
    {
        string? path = Environment.ProcessPath;
        if (path is null)
        {
            throw new InvalidOperationException("This process's executable is unknown; set AgentSessionOptions.AgentProcess.");
        }

        var psi = new ProcessStartInfo(path);
        if (Path.GetFileNameWithoutExtension(path) == "dotnet")
        {
            // Not Assembly.Location: it is empty in a single-file app (such an app is not run by "dotnet" anyway).
            string? name = Assembly.GetEntryAssembly()?.GetName().Name;
            string? entry = name is null ? null : Path.Combine(AppContext.BaseDirectory, name + ".dll");
            if (entry is null || !File.Exists(entry))
            {
                throw new InvalidOperationException("This program runs under the dotnet host but its entry assembly is unknown; set AgentSessionOptions.AgentProcess.");
            }

            psi.ArgumentList.Add(entry);
        }

        return psi;
    }
}

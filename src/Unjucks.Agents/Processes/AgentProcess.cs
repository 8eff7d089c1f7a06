using System.Diagnostics;
using System.Text;

namespace Unjucks.Agents.Processes;

/// <summary>One started agent process: its Process and the end of its standard error.</summary>
internal sealed class AgentProcess : AgentWorker
{
    private const int TailChars = 4096;
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();

    private AgentProcess(int index, Process process)
        : base(index)
    {
        Process = process;
    }

    internal Process Process { get; }

    internal static AgentProcess Start(int index, ProcessStartInfo psi)
    {
        psi.UseShellExecute = false;
        psi.RedirectStandardError = true;
        psi.RedirectStandardOutput = true;
        var process = new Process { StartInfo = psi };
        var agent = new AgentProcess(index, process);
        process.ErrorDataReceived += (_, e) => agent.AppendError(e.Data);
        process.OutputDataReceived += static (_, _) => { }; // drained so a chatty agent never blocks on a full pipe.
        if (!process.Start())
        {
            throw new AgentStartupException(index, null, string.Empty, $"could not be started ('{psi.FileName}')");
        }

        agent.Pid = process.Id;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return agent;
    }

    internal override bool HasExited
    {
        get
        {
            try
            {
                return Process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    internal override int? ExitCode => HasExited ? Process.ExitCode : null;

    internal override string StandardErrorTail
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString().TrimEnd();
            }
        }
    }

    internal override void Kill()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
            }

            Process.WaitForExit(5000); // also waits for the redirected streams to drain (stderr tail complete).
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private void AppendError(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _stderr.AppendLine(line);
            if (_stderr.Length > TailChars)
            {
                _stderr.Remove(0, _stderr.Length - TailChars);
            }
        }
    }

    internal override Task WaitForExitAsync(CancellationToken cancellationToken) => Process.WaitForExitAsync(cancellationToken);

    public override void Dispose() => Process.Dispose();
}

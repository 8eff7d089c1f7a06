using System.Diagnostics;

namespace Unjucks.Cli.Adapters;

/// <summary>
/// Memory of a job: the working sets (RSS) of this process and of the given agent processes (each pid once), summed.
/// Keeps one <see cref="Process"/> per pid (refreshed per sample); a process that is gone counts 0.
/// </summary>
internal sealed class ProcessMemory
{
    private readonly Dictionary<int, Process?> _processes = [];

    public long Sample(IEnumerable<int> pids)
    {
        long bytes = Environment.WorkingSet;
        var self = Environment.ProcessId;
        foreach (var pid in pids.Distinct())
        {
            if (pid == self)
            {
                continue; // thread agents (threads mode) live in this process: counted once, above.
            }

            if (!_processes.TryGetValue(pid, out var process))
            {
                try
                {
                    process = Process.GetProcessById(pid);
                }
                catch (ArgumentException)
                {
                    process = null; // already gone
                }

                _processes[pid] = process;
            }

            if (process is null)
            {
                continue;
            }

            try
            {
                process.Refresh();
                bytes += process.WorkingSet64;
            }
            catch (InvalidOperationException)
            {
                // Exited between the refresh and the read.
            }
        }

        return bytes;
    }
}

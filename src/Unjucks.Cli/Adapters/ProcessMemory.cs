using System.Diagnostics;

namespace Unjucks.Cli.Adapters;

/// <summary>
/// Memory of a processes-mode job: the working sets (RSS) of this process and of the given agent processes, summed.
/// Keeps one <see cref="Process"/> per pid (refreshed per sample); a process that is gone counts 0.
/// </summary>
internal sealed class ProcessMemory
{
    private readonly Dictionary<int, Process?> _processes = [];

    public long Sample(IEnumerable<int> pids)
    {
        long bytes = Environment.WorkingSet;
        foreach (var pid in pids)
        {
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

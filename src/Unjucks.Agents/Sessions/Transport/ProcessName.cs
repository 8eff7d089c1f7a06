// The name an agent process shows in ps, top, /proc/<pid>/comm and `dotnet-counters ps`, so that
// `dotnet-counters monitor -n <coordinator>` finds the coordinator alone instead of failing on several processes of
// the same name. Writing /proc/self/comm renames the thread-group leader (the main thread) whichever thread writes
// it (proc(5)); the command line (`pgrep -f`) stays as it was.
namespace Unjucks.Agents.Sessions.Transport;

internal static class ProcessName
{
    /// <summary>What agent processes are called (at most 15 bytes: the kernel's TASK_COMM_LEN less its terminator).</summary>
    internal const string Agent = "unjucks-agent";

    /// <summary>Renames this process; false (and nothing changed) where /proc cannot be written.</summary>
    internal static bool TrySet(string name)
    {
        try
        {
            File.WriteAllText("/proc/self/comm", name);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // a name is a convenience: an agent runs the same without it
        }
    }
}

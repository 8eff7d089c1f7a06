using System.Runtime.InteropServices;

namespace Unjucks.Agents.Tests.Sessions;

/// <summary>kill(2) for the tests, and "is this pid a running (not zombie) process".</summary>
internal static partial class Signals
{
    internal const int SIGCONT = 18;
    internal const int SIGSTOP = 19;

    internal static void Send(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>True while /proc/&lt;pid&gt;/stat exists and its state is not Z (zombie) or X (dead).</summary>
    internal static bool IsRunning(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            char state = stat[stat.LastIndexOf(')') + 2];
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

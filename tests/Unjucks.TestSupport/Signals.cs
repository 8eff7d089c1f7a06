using System.Runtime.InteropServices;

namespace Unjucks.TestSupport;

/// <summary>kill(2) for the tests, and "is this pid a running (not zombie) process".</summary>
public static partial class Signals
{
    /// <summary>Hang-up: a closed terminal.</summary>
    public const int SIGHUP = 1;

    /// <summary>Interrupt: Ctrl+C.</summary>
    public const int SIGINT = 2;

    /// <summary>Terminate: kill's default.</summary>
    public const int SIGTERM = 15;

    /// <summary>Continue a stopped process.</summary>
    public const int SIGCONT = 18;

    /// <summary>Stop (cannot be caught).</summary>
    public const int SIGSTOP = 19;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; throws when kill(2) fails.</summary>
    public static void Send(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>True while /proc/&lt;pid&gt;/stat exists and its state is not Z (zombie) or X (dead).</summary>
    public static bool IsRunning(int pid)
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

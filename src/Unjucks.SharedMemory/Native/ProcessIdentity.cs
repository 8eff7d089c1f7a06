// Telling a live process from a dead one whose pid may have been reused.
//
// kill(pid, 0) says whether *some* process has the pid (ESRCH: none; EPERM: exists, owned by another user).
// The kernel recycles pids, so we also compare the process start time: field 22 of /proc/<pid>/stat, in clock
// ticks since boot. A pid with a different start time is a different process.
using System.Globalization;
using System.Runtime.InteropServices;

namespace Unjucks.SharedMemory.Native;

internal static class ProcessIdentity
{
    private static long s_selfStartTime = -1;

    /// <summary>This process's start time (clock ticks since boot), read once.</summary>
    internal static long SelfStartTime
    {
        get
        {
            long cached = Volatile.Read(ref s_selfStartTime); // benign race: every thread computes the same value
            if (cached < 0)
            {
                cached = TryReadStartTime(Environment.ProcessId) ?? 0;
                Volatile.Write(ref s_selfStartTime, cached); // release; pairs with the Volatile.Read above
            }

            return cached;
        }
    }

    /// <summary>Reads field 22 (starttime) of /proc/<paramref name="pid"/>/stat, or null if the process is gone.</summary>
    internal static long? TryReadStartTime(int pid) => TryReadStat(pid, out _);

    /// <summary>Reads the state letter (field 3) and start time (field 22); null if the process is gone.</summary>
    private static long? TryReadStat(int pid, out char state)
    {
        state = '?';
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // The command name (field 2) is in parentheses and may itself contain spaces or ')': skip to the LAST ')'.
        int close = text.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        // After ") " come fields 3.. ; starttime is field 22, i.e. index 19 in this tail.
        string[] fields = text[(close + 2)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 20 || !long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out long start))
        {
            return null;
        }

        state = fields[0].Length > 0 ? fields[0][0] : '?';
        return start;
    }

    /// <summary>True if a process with this pid exists and (when known) started at <paramref name="startTime"/>.</summary>
    internal static bool IsRunning(int pid, long startTime)
    {
        if (pid <= 0)
        {
            return false;
        }

        if (LibC.Kill(pid, 0) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != LibC.EPERM)
            {
                return false; // ESRCH: no such process
            }
        }

        long? actual = TryReadStat(pid, out char state);
        if (actual is null || state is 'Z' or 'X' or 'x')
        {
            return false; // exited between kill and the read, or exited and not yet reaped (zombie)
        }

        return startTime == 0 || actual.Value == startTime;
    }
}

// The .NET runtime of every process makes three entries in the temporary folder: the debugger's two FIFOs
// (clr-debug-pipe-<pid>-<key>-in/-out) and the diagnostics socket (dotnet-diagnostic-<pid>-<key>-socket), where the
// key is the process's start time in clock ticks (/proc/<pid>/stat field 22). It removes them when it exits
// normally; a process killed with SIGKILL leaves them. Whoever reaps a killed .NET process removes them here,
// matched by pid AND start time, and only once no process with that identity runs.
using System.Globalization;

namespace Unjucks.SharedMemory.Native;

/// <summary>Removes what the runtime of a dead .NET process left in the temporary folder.</summary>
internal static class RuntimeIpcFiles
{
    /// <summary>Removes the debugger FIFOs and diagnostics socket of the process (<paramref name="pid"/>,
    /// <paramref name="startTime"/>) when it is no longer running; returns how many entries it removed.</summary>
    /// <param name="pid">The dead process.</param>
    /// <param name="startTime">Its start time in clock ticks, read while it ran (see <see cref="ProcessIdentity.TryReadStartTime"/>).</param>
    /// <param name="temporaryDirectory">The process's TMPDIR; default this process's temporary folder.</param>
    internal static int RemoveLeftovers(int pid, long startTime, string? temporaryDirectory = null)
    {
        if (pid <= 0 || startTime <= 0 || ProcessIdentity.IsRunning(pid, startTime))
        {
            return 0;
        }

        string dir = temporaryDirectory ?? Path.GetTempPath();
        string id = string.Create(CultureInfo.InvariantCulture, $"{pid}-{startTime}");
        int removed = 0;
        foreach (string name in (string[])[$"clr-debug-pipe-{id}-in", $"clr-debug-pipe-{id}-out", $"dotnet-diagnostic-{id}-socket"])
        {
            string path = Path.Combine(dir, name);
            try
            {
                if (FileStat.IdentityOf(path) is not null) // lstat-like: the entry itself, never a link's target
                {
                    File.Delete(path);
                    removed++;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Someone else's, or gone meanwhile: nothing of ours to remove.
            }
        }

        return removed;
    }

    /// <summary>Removes, from <paramref name="temporaryDirectory"/>, the runtime entries of every process of this user
    /// that no longer runs (each name's pid and start time checked); returns the paths removed. For whoever killed
    /// .NET processes it did not reap itself (a process tree killed at once).</summary>
    /// <param name="temporaryDirectory">The folder; default this process's temporary folder.</param>
    internal static IReadOnlyList<string> RemoveStale(string? temporaryDirectory = null)
    {
        string dir = temporaryDirectory ?? Path.GetTempPath();
        var removed = new List<string>();
        uint me = LibC.GetEuid();
        IEnumerable<string> entries;
        try
        {
            entries = [.. Directory.EnumerateFileSystemEntries(dir, "clr-debug-pipe-*"), .. Directory.EnumerateFileSystemEntries(dir, "dotnet-diagnostic-*")];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return removed;
        }

        foreach (string path in entries)
        {
            if (!TryParse(Path.GetFileName(path), out int pid, out long startTime) || ProcessIdentity.IsRunning(pid, startTime))
            {
                continue;
            }

            try
            {
                if (FileStat.StatNoFollow(path).Uid == me)
                {
                    File.Delete(path);
                    removed.Add(path);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours.
            }
        }

        return removed;
    }

    /// <summary>Reads pid and start time from "clr-debug-pipe-P-K-in|out" or "dotnet-diagnostic-P-K-socket".</summary>
    private static bool TryParse(string name, out int pid, out long startTime)
    {
        pid = 0;
        startTime = 0;
        string rest;
        if (name.StartsWith("clr-debug-pipe-", StringComparison.Ordinal) && (name.EndsWith("-in", StringComparison.Ordinal) || name.EndsWith("-out", StringComparison.Ordinal)))
        {
            rest = name["clr-debug-pipe-".Length..name.LastIndexOf('-')];
        }
        else if (name.StartsWith("dotnet-diagnostic-", StringComparison.Ordinal) && name.EndsWith("-socket", StringComparison.Ordinal))
        {
            rest = name["dotnet-diagnostic-".Length..^"-socket".Length];
        }
        else
        {
            return false;
        }

        int dash = rest.IndexOf('-', StringComparison.Ordinal);
        return dash > 0
            && int.TryParse(rest.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out pid)
            && long.TryParse(rest.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out startTime);
    }
}

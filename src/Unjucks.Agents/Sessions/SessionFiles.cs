// Every file an agent session creates, named in one place. All of them start with the session's name:
//   <dir>/<name>.session          the shared segment (SessionSegmentLayout)
//   <dir>/<name>.in-<slot>         a task input too large for its slot (written by the coordinator)
//   <dir>/<name>.out-<slot>-<e>    a task output too large for its slot (written by the agent of lease epoch e)
// <name> is "s<pid>-<16 hex>", so the coordinator's pid is in it; RemoveStale also checks the pid's start time
// recorded in the segment, so a reused pid is not taken for the live coordinator.
using System.Globalization;
using System.Security.Cryptography;
using Unjucks.SharedMemory;
using Unjucks.SharedMemory.Native;
using Unjucks.SharedMemory.Sessions;

namespace Unjucks.Agents.Sessions;

internal static class SessionFiles
{
    internal const string SegmentExtension = ".session";

    internal static string NewName() =>
        "s" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    internal static string SegmentPath(string directory, string name) => Path.Combine(directory, name + SegmentExtension);

    internal static string PrefixOf(string segmentPath) => segmentPath[..^SegmentExtension.Length];

    internal static string InputSpill(string prefix, int slot) => prefix + ".in-" + slot.ToString(CultureInfo.InvariantCulture);

    internal static string OutputSpill(string prefix, int slot, long epoch) =>
        prefix + ".out-" + slot.ToString(CultureInfo.InvariantCulture) + "-" + epoch.ToString(CultureInfo.InvariantCulture);

    /// <summary>The session folder: the given one, or the per-user root, made private (0700 whatever the umask;
    /// refused when it is a link or another user's; see <see cref="PrivateDirectory.Resolve"/>).</summary>
    internal static string ResolveDirectory(string? directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Agent sessions need Linux (/dev/shm, futex, prctl).");
        }

        return PrivateDirectory.Resolve(directory, "AgentSessionOptions.Directory");
    }

    internal static string DefaultDirectory() => PrivateDirectory.DefaultRoot();

    /// <summary>Deletes every file of one session (the segment last, so a reader never sees spills without it).</summary>
    internal static List<string> DeleteAll(string segmentPath)
    {
        var removed = new List<string>();
        string prefix = PrefixOf(segmentPath);
        string dir = Path.GetDirectoryName(segmentPath)!;
        string name = Path.GetFileName(prefix);
        try
        {
            foreach (string file in Directory.EnumerateFiles(dir, name + ".*"))
            {
                if (file != segmentPath && TryDelete(file))
                {
                    removed.Add(file);
                }
            }
        }
        catch (DirectoryNotFoundException)
        {
            return removed;
        }

        if (TryDelete(segmentPath))
        {
            removed.Add(segmentPath);
        }

        return removed;
    }

    /// <summary>Removes the files of every session in <paramref name="directory"/> whose coordinator is dead.</summary>
    internal static IReadOnlyList<string> RemoveStale(string? directory)
    {
        string dir = Path.GetFullPath(directory ?? DefaultDirectory());
        var removed = new List<string>();
        if (!Directory.Exists(dir))
        {
            return removed;
        }

        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (string segment in Directory.EnumerateFiles(dir, "*" + SegmentExtension))
        {
            if (RegularFile.NonRegularKindAt(segment) is not null)
            {
                continue; // a FIFO, socket, device or link is not a session's: never opened, never removed
            }

            if (IsCoordinatorAlive(segment))
            {
                live.Add(Path.GetFileName(PrefixOf(segment)));
                continue;
            }

            removed.AddRange(DeleteAll(segment));
        }

        // Spill files whose segment is already gone (a coordinator killed while deleting its files).
        foreach (string file in Directory.EnumerateFiles(dir, "s*.*"))
        {
            string fileName = Path.GetFileName(file);
            int dot = fileName.IndexOf('.', StringComparison.Ordinal);
            string owner = fileName[..dot];
            string rest = fileName[dot..];
            if (!live.Contains(owner) && RegularFile.NonRegularKindAt(file) is null && (rest.StartsWith(".in-", StringComparison.Ordinal) || rest.StartsWith(".out-", StringComparison.Ordinal))
                && !File.Exists(Path.Combine(dir, owner + SegmentExtension)) && TryDelete(file))
            {
                removed.Add(file);
            }
        }

        return removed;
    }

    private static bool IsCoordinatorAlive(string segmentPath)
    {
        try
        {
            using var segment = SessionSegment.Open(segmentPath);
            return ProcessIdentity.IsRunning(segment.CoordinatorPid, segment.CoordinatorStartTime);
        }
        catch (Exception e) when (e is SharedRegionFormatException or IOException)
        {
            // Not ready (its creator died while writing it) or damaged: fall back on the pid in the name.
            string name = Path.GetFileName(segmentPath);
            int dash = name.IndexOf('-', StringComparison.Ordinal);
            return dash > 1 && int.TryParse(name.AsSpan(1, dash - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && ProcessIdentity.TryReadStartTime(pid) is not null && pid != Environment.ProcessId;
        }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            if (!File.Exists(path))
            {
                return false;
            }

            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

}

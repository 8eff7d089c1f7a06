// Which processes have a file open or mapped, from /proc: every process that uses a shared region maps it
// (MAP_SHARED), and the mapping stays listed in /proc/<pid>/maps after its descriptor is closed, until munmap or
// exit. So "no process maps or opens the file" is the operating system's own answer to "nobody uses this region",
// whatever the region's registry says; `inspect --cleanup` asks it before removing anything.
//
// Limits: only processes whose /proc entries we may read are seen (the current user's, which are the only ones that
// can open a 0600 region file anyway, apart from root). Paths are compared as the kernel prints them, so a
// candidate path must be absolute and free of symbolic links (RegionInspector resolves its directory).
using System.Globalization;

namespace Unjucks.Cli.Adapters;

internal static class RegionFileUsers
{
    private const string DeletedSuffix = " (deleted)";

    /// <summary>
    /// For each path in <paramref name="paths"/>, the pids that map it or hold a descriptor on it (a path absent
    /// from the result has none).
    /// </summary>
    public static Dictionary<string, List<int>> Find(IReadOnlyCollection<string> paths)
    {
        var users = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        if (paths.Count == 0 || !Directory.Exists("/proc"))
        {
            return users;
        }

        var wanted = new HashSet<string>(paths, StringComparer.Ordinal);
        foreach (string entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            ScanMaps(entry, wanted, seen);
            ScanDescriptors(entry, wanted, seen);
            foreach (string path in seen)
            {
                if (!users.TryGetValue(path, out List<int>? pids))
                {
                    users[path] = pids = [];
                }

                pids.Add(pid);
            }
        }

        return users;
    }

    private static void ScanMaps(string processDirectory, HashSet<string> wanted, HashSet<string> seen)
    {
        try
        {
            foreach (string line in File.ReadLines(Path.Combine(processDirectory, "maps")))
            {
                // "start-end perms offset dev inode      /path/of/file": the path starts at the first '/'.
                int slash = line.IndexOf('/', StringComparison.Ordinal);
                if (slash < 0)
                {
                    continue;
                }

                string path = line[slash..];
                if (path.EndsWith(DeletedSuffix, StringComparison.Ordinal))
                {
                    continue; // a mapping of a removed file is not a use of the file now at that path
                }

                if (wanted.Contains(path))
                {
                    seen.Add(path);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The process exited, or is not ours: it cannot have our 0600 region open.
        }
    }

    private static void ScanDescriptors(string processDirectory, HashSet<string> wanted, HashSet<string> seen)
    {
        try
        {
            foreach (string descriptor in Directory.EnumerateFileSystemEntries(Path.Combine(processDirectory, "fd")))
            {
                string? target = new FileInfo(descriptor).LinkTarget;
                if (target is not null && wanted.Contains(target))
                {
                    seen.Add(target);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // As above: gone, or not ours.
        }
    }
}

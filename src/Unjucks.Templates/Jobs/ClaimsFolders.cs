// ClaimsDirectories: the naming of a job's output-claims directories (claims-<coordinator pid>-<32 hex digits>, under
// the region directory) and the removal of those a killed coordinator left behind. The coordinator deletes its own in
// a finally block; only a coordinator that died without running it (SIGKILL, power loss) leaves one, and cleanup then
// removes it once no process with that pid runs. A pid reused by an unrelated process keeps the directory until that
// process ends too: conservative, and the directory is a few small files.
using System.Globalization;


namespace Unjucks.Templates.Jobs;

/// <summary>Names and cleans up the output-claims directories of processes-mode jobs.</summary>
internal static class ClaimsFolders
{
    private const string Prefix = "claims-";

    /// <summary>A fresh claims directory name for a job coordinated by process <paramref name="pid"/>.</summary>
    public static string NameFor(int pid) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}{pid}-{Guid.NewGuid():N}");

    /// <summary>The coordinator pid in a claims directory name, or null when the name is not one.</summary>
    public static int? PidOf(string name)
    {
        if (!name.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = name.AsSpan(Prefix.Length);
        int dash = rest.IndexOf('-');
        return dash > 0 && rest.Length - dash - 1 == 32 && int.TryParse(rest[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0
            ? pid
            : null;
    }

    /// <summary>Removes the claims directories in <paramref name="directory"/> whose coordinator no longer runs.</summary>
    public static IReadOnlyList<string> RemoveOrphans(string directory)
    {
        var removed = new List<string>();
        if (!Directory.Exists(directory))
        {
            return removed;
        }

        foreach (var path in Directory.GetDirectories(directory, Prefix + "*"))
        {
            var name = Path.GetFileName(path);
            if (PidOf(name) is not { } pid || Directory.Exists(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}")))
            {
                continue; // not ours, or its coordinator (or a process with its pid) still runs
            }

            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // not ours to remove, or gone meanwhile
            }

            removed.Add(path);
        }

        return removed;
    }
}

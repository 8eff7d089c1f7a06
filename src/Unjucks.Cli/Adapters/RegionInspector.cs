// RegionInspector: `unjucks-perf inspect` over the real shared regions (Unjucks.SharedMemory).
//
// Read-only by construction: a region is opened with SharedRegion.Open (which maps the file and registers nothing),
// only read through the inspection members (registry snapshots, GetQueues, GetLocks, BoundSlotCount,
// ChangeSequence), and disposed at once (Dispose unregisters nothing, since nothing was registered). Liveness probes
// take an agent's flock on a fresh descriptor for an instant (as every waiter in the library does); a registrant
// that meets the probe skips that slot and takes another. Nothing is created: a missing directory lists as empty.
//
// Cleanup removes a region file only when all of these hold, checked in this order:
//   1. it is a readable region whose creator is dead (pid + start time) and whose registered agents are all dead
//      (flock released, or pid gone or reused) -- or it is not a readable region at all (wrong magic, other major
//      version, truncated, never became ready), which has no creator or agents to ask;
//   2. no process maps it or holds a descriptor on it (/proc, RegionFileUsers), which also covers a process that
//      opened the region without registering, a creator that is still writing the header, and a registrant caught
//      between flock and publish.
// Files we may not open (another owner, group/world-writable) are reported by the listing and never removed.
// Without a NAME, cleanup also removes the output-claims directories that killed coordinators left (Unjucks.Templates.RenderJob.RemoveStale).
// Known window: a process that opens a region in the milliseconds between the /proc scan and the unlink keeps a
// mapping of a file that no longer has a name (it works alone; others cannot join it).
using Unjucks.Cli.Engine;
using Unjucks.SharedMemory;
using RegionInfo = Unjucks.Cli.Engine.RegionInfo;

namespace Unjucks.Cli.Adapters;

/// <summary>Reads the shared regions of one directory for <c>inspect</c>, and removes dead ones.</summary>
internal sealed class RegionInspector : IRegionInspector
{
    /// <summary>How long to wait for a region whose header is not published yet before calling it unreadable.</summary>
    internal static readonly TimeSpan ReadyTimeout = TimeSpan.FromMilliseconds(200);

    private const string Extension = ".region";

    private readonly SharedRegionOptions _options;
    private readonly RegionHeartbeats _heartbeats;

    /// <param name="directory">Region directory; null for the per-user default (<c>/dev/shm/unjucks-&lt;uid&gt;</c>).</param>
    /// <param name="time">Clock for heartbeat ages; null for the system clock.</param>
    public RegionInspector(string? directory = null, TimeProvider? time = null)
    {
        Directory = RealPath(directory ?? SharedRegionOptions.DefaultDirectory);
        _options = new SharedRegionOptions { Directory = Directory };
        _heartbeats = new RegionHeartbeats(time ?? TimeProvider.System);
    }

    /// <summary>The directory inspected (absolute, symbolic links resolved).</summary>
    public string Directory { get; }

    public IReadOnlyList<RegionInfo> ListRegions()
    {
        var regions = new List<RegionInfo>();
        foreach (string path in RegionFilePaths())
        {
            if (Describe(path) is { } info)
            {
                regions.Add(info);
            }
        }

        return [.. regions.OrderBy(r => r.CreatedAt).ThenBy(r => r.Name, StringComparer.Ordinal)];
    }

    public RegionSnapshot? Snapshot(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string path = PathOf(name);
        if (!File.Exists(path))
        {
            return null;
        }

        long size = SizeOf(path);
        SharedRegion region;
        try
        {
            region = SharedRegion.Open(name, _options, ReadyTimeout);
        }
        catch (FileNotFoundException)
        {
            return null; // removed since we looked
        }
        catch (Exception e) when (IsUnreadable(e))
        {
            throw new CliException($"region '{name}' cannot be inspected: {e.Message}");
        }

        using (region)
        {
            RegionInfo info = Summarize(region, path, size, out var agents, out var alive);
            TimeSpan[] ages = _heartbeats.Observe(path, agents, [.. agents.Select(a => region.Agents.GetRegisteredAt(a.Slot))]);
            var rows = new RegionAgent[agents.Count];
            for (int i = 0; i < agents.Count; i++)
            {
                AgentInfo agent = agents[i];
                rows[i] = new RegionAgent(agent.Slot, agent.ProcessId, alive[i], ages[i], StateWord(agent.State, alive[i]), agent.Operations, 0, 0);
            }

            var queues = region.GetQueues().Select(q => new QueueDepth(q.Name, q.Count, q.Capacity)).ToArray();
            var locks = region.GetLocks().Select(l => new LockOwner(l.Name, l.OwnerProcessId, l.OwnerAlive)).ToArray();
            return new RegionSnapshot(info, rows, queues, locks, region.State.BoundSlotCount, region.State.Capacity, region.ChangeSequence);
        }
    }

    public IReadOnlyList<RemovedRegion> CleanupDeadRegions(string? name)
    {
        IEnumerable<string> paths;
        if (name is null)
        {
            paths = RegionFilePaths();
        }
        else
        {
            string path = PathOf(name);
            if (!File.Exists(path))
            {
                throw new CliException($"no region named '{name}' in {Directory}; 'unjucks-perf inspect' lists the regions there are.");
            }

            paths = [path];
        }

        // Step 1: the region's own view (creator and agents dead, or not a region at all). Every mapping we made is
        // disposed before step 2, so our own process counts only where the caller itself has the region open.
        var candidates = new List<(string Path, long Size, string Reason)>();
        foreach (string path in paths)
        {
            if (DeathReason(path) is { } reason)
            {
                candidates.Add((path, SizeOf(path), reason));
            }
        }

        // Step 2: the operating system's view, one /proc scan for all candidates, just before removing.
        var users = RegionFileUsers.Find(candidates.Select(c => c.Path).ToArray());
        var removed = new List<RemovedRegion>();
        foreach ((string path, long size, string reason) in candidates)
        {
            if (users.ContainsKey(path))
            {
                continue; // mapped or open by a live process: in use, whatever its registry says
            }

            if (Remove(path))
            {
                removed.Add(new RemovedRegion(NameOf(path), path, size, reason + "; no process has the file open or mapped"));
            }
        }

        if (name is null)
        {
            // What killed render jobs left: their sessions' files and output-claims folders (the library knows them all).
            removed.AddRange(Unjucks.Templates.RenderJob.RemoveStale(Directory).Select(p => new RemovedRegion(Path.GetFileName(p), p, 0, "left by a render job whose coordinator is gone")));
        }

        return removed;
    }

    // Claiming is shown as such whatever the liveness probe says: the registry's IsAlive is false for it by
    // definition, and a claimer that died mid-registration stays Claiming until the next registrant takes the slot.
    private static string StateWord(AgentSlotState state, bool alive) => state switch
    {
        AgentSlotState.Claiming => "claiming",
        _ => alive ? "active" : "dead",
    };

    private static bool IsUnreadable(Exception e) =>
        e is SharedRegionFormatException or UnauthorizedAccessException or ArgumentException or IOException;

    private static string NameOf(string path) => Path.GetFileNameWithoutExtension(path);

    private static long SizeOf(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static RegionInfo Summarize(SharedRegion region, string path, long size, out IReadOnlyList<AgentInfo> agents, out bool[] alive)
    {
        agents = region.Agents.GetAgents();
        alive = new bool[agents.Count];
        for (int i = 0; i < agents.Count; i++)
        {
            alive[i] = region.Agents.IsAlive(agents[i].Slot);
        }

        return new RegionInfo(
            region.Name, path, size, region.CreatorProcessId, region.IsCreatorAlive(), alive.Count(a => a), agents.Count, region.CreatedAt);
    }

    /// <summary>Why the file at <paramref name="path"/> may be removed, or null when it is in use or not ours.</summary>
    private string? DeathReason(string path)
    {
        if (RegularFile.NonRegularKindAt(path) is not null)
        {
            return null; // a FIFO, socket, device or link: listed as unreadable, never opened or removed
        }

        string name = NameOf(path);
        SharedRegion region;
        try
        {
            region = SharedRegion.Open(name, _options, ReadyTimeout);
        }
        catch (FileNotFoundException)
        {
            return null; // already gone
        }
        catch (UnauthorizedAccessException)
        {
            return null; // not ours to judge (another owner, or loose permissions): the listing reports it
        }
        catch (Exception e) when (IsUnreadable(e))
        {
            return $"not a readable region ({e.Message})";
        }

        using (region)
        {
            RegionInfo info = Summarize(region, path, 0, out var agents, out _);
            if (!info.IsDead)
            {
                return null;
            }

            string agentPart = agents.Count == 0
                ? "no agent is registered"
                : $"its {agents.Count} registered agent(s) ({string.Join(", ", agents.Select(a => a.ProcessId).Distinct())}) are dead";
            return $"creator {info.CreatorPid} is gone and {agentPart}";
        }
    }

    private RegionInfo? Describe(string path)
    {
        string name = NameOf(path);
        long size = SizeOf(path);
        try
        {
            using SharedRegion region = SharedRegion.Open(name, _options, ReadyTimeout);
            return Summarize(region, path, size, out _, out _);
        }
        catch (FileNotFoundException)
        {
            return null; // removed since the directory was listed
        }
        catch (Exception e) when (IsUnreadable(e))
        {
            DateTimeOffset written = File.Exists(path) ? File.GetLastWriteTimeUtc(path) : DateTimeOffset.UnixEpoch;
            return new RegionInfo(name, path, size, 0, false, 0, 0, written, e.Message);
        }
    }

    private bool Remove(string path)
    {
        string name = NameOf(path);
        try
        {
            return SharedRegion.Delete(name, _options);
        }
        catch (ArgumentException)
        {
            // Not a valid region name, so the library never made an agents directory for it: the file alone.
            bool existed = File.Exists(path);
            File.Delete(path);
            return existed;
        }
    }

    private IEnumerable<string> RegionFilePaths() =>
        System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.EnumerateFiles(Directory, "*" + Extension).Where(p => p.EndsWith(Extension, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray()
            : [];

    private string PathOf(string name)
    {
        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name is "." or "..")
        {
            throw new CliException($"'{name}' is not a region name: use the name 'unjucks-perf inspect' lists (no '/').");
        }

        return Path.Combine(Directory, name + Extension);
    }

    /// <summary>The absolute path with every symbolic link along it resolved, as /proc prints paths.</summary>
    private static string RealPath(string directory)
    {
        string full = Path.GetFullPath(directory);
        string current = Path.GetPathRoot(full) ?? "/";
        foreach (string part in full[current.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            string next = Path.Combine(current, part);
            var info = new DirectoryInfo(next);
            current = info.Exists && info.LinkTarget is not null
                ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? next
                : next;
        }

        return current;
    }
}

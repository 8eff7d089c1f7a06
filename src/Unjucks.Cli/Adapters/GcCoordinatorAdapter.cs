// GcCoordinatorAdapter: `unjucks-perf gc NAME` over the real coordinated GC (Unjucks.Agents.Gc.CoordinatedGc;
// protocol in docs/coordinated-gc.md).
//
// The tool has to register in the region for the length of the round: CoordinatedGc.RunRoundAsync takes an agent
// slot for the coordinator (region.Agents.CurrentSlot) and writes its slot, generation and pid into "gc/request",
// and agents test that registration's liveness to leave a pause whose coordinator died. So the adapter registers
// first, lists the live registrations other than its own (and other than any of this process: the tool is not an
// agent of the job it inspects), runs the round on those, and disposes the region, which gives the slot back.
// Failure windows: a job agent that registers after the listing is not a target; it still pauses if it reaches a
// safe point during the round (the request names no targets) and is resumed with the others, uncollected. A
// registration that is not a pause-serving agent (e.g. a job coordinator process) is reported TimedOut.
using Unjucks.Agents.Gc;
using Unjucks.Cli.Engine;
using Unjucks.SharedMemory;

namespace Unjucks.Cli.Adapters;

/// <summary>Runs one coordinated GC round on the live agents of a region of one directory, for <c>gc</c>.</summary>
internal sealed class GcCoordinatorAdapter : IGcCoordinator
{
    private const string Extension = ".region";

    private readonly SharedRegionOptions _options;

    /// <param name="directory">Region directory; null for the per-user default (<c>/dev/shm/unjucks-&lt;uid&gt;</c>).</param>
    public GcCoordinatorAdapter(string? directory = null)
    {
        Directory = Path.GetFullPath(directory ?? SharedRegionOptions.DefaultDirectory);
        _options = new SharedRegionOptions { Directory = Directory };
    }

    /// <summary>The directory whose regions are collected.</summary>
    public string Directory { get; }

    public async Task<GcRoundReport> RunRoundAsync(string regionName, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(regionName);
        using SharedRegion region = OpenRegion(regionName);
        int self = Register(region);
        GcTarget[] targets = LiveAgents(region, self);
        if (targets.Length == 0)
        {
            throw new CliException(
                $"region '{regionName}' has no live agent to collect; 'unjucks-perf inspect {regionName}' shows its registrations.");
        }

        GcRoundResult result;
        try
        {
            result = await CoordinatedGc.RunRoundAsync(region, targets, new GcRoundOptions { AckTimeout = timeout }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (GcRoundInProgressException e)
        {
            throw new CliException(e.Message);
        }
        catch (InvalidDataException e)
        {
            throw new CliException($"region '{regionName}' holds a GC record this tool cannot read: {e.Message}");
        }

        return new GcRoundReport(regionName, result.Duration, [.. result.Agents.Select(ToView).OrderBy(a => a.Slot)]);
    }

    /// <summary>One agent's report in the view's terms; not collected means nothing freed (after = before).</summary>
    internal static AgentGcReport ToView(GcAgentReport agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return agent.Outcome switch
        {
            GcAgentOutcome.Collected => new AgentGcReport(
                agent.AgentSlot, agent.Pid, agent.BytesBefore, agent.BytesAfter, agent.GcTime, GcOutcome.Acknowledged),
            GcAgentOutcome.TimedOut => new AgentGcReport(
                agent.AgentSlot, agent.Pid, agent.BytesBefore, agent.BytesBefore, TimeSpan.Zero, GcOutcome.TimedOut, agent.Error),
            _ => new AgentGcReport(
                agent.AgentSlot, agent.Pid, agent.BytesBefore, agent.BytesBefore, TimeSpan.Zero, GcOutcome.Failed, agent.Error),
        };
    }

    private SharedRegion OpenRegion(string name)
    {
        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name is "." or "..")
        {
            throw new CliException($"'{name}' is not a region name: use the name 'unjucks-perf inspect' lists (no '/').");
        }

        string missing = $"no region named '{name}' in {Directory}; 'unjucks-perf inspect' lists the regions there are.";
        if (!File.Exists(Path.Combine(Directory, name + Extension)))
        {
            throw new CliException(missing);
        }

        try
        {
            return SharedRegion.Open(name, _options, RegionInspector.ReadyTimeout);
        }
        catch (FileNotFoundException)
        {
            throw new CliException(missing); // removed since we looked
        }
        catch (Exception e) when (e is SharedRegionFormatException or UnauthorizedAccessException or ArgumentException or IOException)
        {
            throw new CliException($"region '{name}' cannot be used for a GC round: {e.Message}");
        }
    }

    private static int Register(SharedRegion region)
    {
        try
        {
            return region.Agents.Register();
        }
        catch (SharedRegionFullException e)
        {
            throw new CliException($"the GC coordinator needs an agent slot of region '{region.Name}' and none is free: {e.Message}");
        }
    }

    /// <summary>Live registrations other than this process's, in slot order.</summary>
    private static GcTarget[] LiveAgents(SharedRegion region, int self)
    {
        int me = Environment.ProcessId;
        return [.. region.Agents.GetAgents()
            .Where(a => a.Slot != self && a.ProcessId != me && a.ProcessId > 0 && region.Agents.IsAlive(a.Slot))
            .OrderBy(a => a.Slot)
            .Select(a => new GcTarget(a.Slot, a.ProcessId))];
    }
}

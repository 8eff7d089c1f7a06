// Heartbeat ages, measured by watching. The registry keeps a heartbeat *counter* per agent slot, not the time of
// the last beat, so an age is "time since this inspector saw the counter move". A registration is seen for the
// first time with its counter at 0: the age is the time since it registered (it never beat); with a counter above
// 0: the age starts at 0 and grows until the counter moves. So a one-shot `inspect NAME` shows real ages only for
// agents that never beat, and `inspect NAME --watch` (one inspector, refreshed every second) shows them all from
// its second refresh on.
using Unjucks.SharedMemory;

namespace Unjucks.Cli.Adapters;

internal sealed class RegionHeartbeats(TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Key, Seen> _seen = [];

    /// <summary>
    /// Records the counters of <paramref name="agents"/> (every non-free slot of the region at
    /// <paramref name="regionPath"/>) and returns each one's heartbeat age, in the same order.
    /// </summary>
    /// <param name="regionPath">The region file.</param>
    /// <param name="agents">Registry snapshots.</param>
    /// <param name="registeredAt">When each agent registered (same order).</param>
    public TimeSpan[] Observe(string regionPath, IReadOnlyList<AgentInfo> agents, IReadOnlyList<DateTimeOffset> registeredAt)
    {
        DateTimeOffset now = time.GetUtcNow();
        var ages = new TimeSpan[agents.Count];
        lock (_gate)
        {
            var current = new HashSet<Key>();
            for (int i = 0; i < agents.Count; i++)
            {
                AgentInfo agent = agents[i];
                var key = new Key(regionPath, agent.Slot, agent.Generation, agent.ProcessId);
                current.Add(key);
                if (!_seen.TryGetValue(key, out Seen seen))
                {
                    seen = new Seen(agent.Heartbeat, agent.Heartbeat == 0 ? registeredAt[i] : now);
                }
                else if (seen.Beat != agent.Heartbeat)
                {
                    seen = new Seen(agent.Heartbeat, now);
                }

                _seen[key] = seen;
                TimeSpan age = now - seen.ChangedAt;
                ages[i] = age < TimeSpan.Zero ? TimeSpan.Zero : age; // clocks of other processes may run ahead
            }

            // Forget registrations of this region that are gone (unregistered, or the slot was reused).
            foreach (Key stale in _seen.Keys.Where(k => k.RegionPath == regionPath && !current.Contains(k)).ToList())
            {
                _seen.Remove(stale);
            }
        }

        return ages;
    }

    private readonly record struct Key(string RegionPath, int Slot, int Generation, int Pid);

    private readonly record struct Seen(long Beat, DateTimeOffset ChangedAt);
}

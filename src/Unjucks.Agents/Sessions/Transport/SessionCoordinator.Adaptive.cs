// The adaptive agent count (AgentSessionOptions.Concurrency): after each 10 ms tick the loop feeds the sampler its
// running totals; a new count goes to the core, whose Standby/Activate actions Execute carries out (the agents' standby
// words in the segment). Fixed sessions only publish the core's active count for the gauge.
using Microsoft.Extensions.Logging;
using Unjucks.Agents.Sessions.Core;

namespace Unjucks.Agents.Sessions.Transport;

internal sealed partial class SessionCoordinator
{
    private readonly AdaptiveAgentSampler? _adaptive;
    private int _activeAgents;
    private ActiveAgentsChange[] _activeHistory;
    private long _latencySumNanos;

    /// <summary>Agents taking work now (not on standby, not down), as of the last tick.</summary>
    internal int ActiveAgents => Volatile.Read(ref _activeAgents); // acquire: pairs with Adapt's release.

    /// <summary>The active count's changes so far (empty for a fixed count).</summary>
    internal IReadOnlyList<ActiveAgentsChange> ActiveAgentsHistory => Volatile.Read(ref _activeHistory); // acquire: a new array each change, published by Adapt's release.

    private void Adapt()
    {
        if (_adaptive is not null)
        {
            double pressure = MemoryPressure;
            bool backlogged = _core.Runnable > _core.ActiveAgents;
            if (_adaptive.Tick(_completed + _failed, _latencySumNanos, backlogged, pressure, _core.ActiveAgentsWarm) is { } count)
            {
                _core.SetActiveAgents(count, _actions);
                Execute();
                var change = _adaptive.History[^1];
                _options.Logger?.LogInformation("Active agents {Old} -> {New}: {Reason}.", change.OldCount, change.NewCount, change.Reason);
                Volatile.Write(ref _activeHistory, [.. _adaptive.History]); // release: the array is complete before readers see it.
            }
        }

        Volatile.Write(ref _activeAgents, _core.ActiveAgents); // release; read by the gauge and AgentSession on other threads.
    }
}

// The coordinated-GC pause point. The agent host calls ISafePoint.AtSafePoint between tasks and on every idle
// wake-up; it is a GcPauseResponder over the agent's region (docs/coordinated-gc.md), which costs two acquire
// loads when no pause is requested.
using Unjucks.SharedMemory;

namespace Unjucks.Agents.Processes;

/// <summary>A point between tasks where the agent may be paused (coordinated GC).</summary>
internal interface ISafePoint
{
    /// <summary>Returns at once unless a pause was requested; then acknowledges and blocks until resumed.</summary>
    void AtSafePoint(CancellationToken cancellationToken);

    /// <summary>Pauses served so far.</summary>
    long PausesServed { get; }
}

/// <summary>Creates the agent's safe point over its region.</summary>
internal static class SafePoints
{
    internal static ISafePoint For(SharedRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        return new ResponderSafePoint(new Gc.GcPauseResponder(region));
    }

    private sealed class ResponderSafePoint(Gc.GcPauseResponder responder) : ISafePoint
    {
        public long PausesServed => responder.PausesServed;

        public void AtSafePoint(CancellationToken cancellationToken) => responder.AtSafePoint(cancellationToken);
    }
}

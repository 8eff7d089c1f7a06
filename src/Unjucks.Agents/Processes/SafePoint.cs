// HOOK(gc): the coordinated-GC pause point. The agent host calls ISafePoint.AtSafePoint between tasks and on
// every idle wake-up. Until Unjucks.Agents.Gc.GcPauseResponder (contract-gc-pause.md) is merged, SafePoints.For
// returns a no-op. To plug it in, replace the body of SafePoints.For with:
//     return new ResponderSafePoint(new Gc.GcPauseResponder(region));
// and add:
//     private sealed class ResponderSafePoint(Gc.GcPauseResponder r) : ISafePoint
//     { public void AtSafePoint(CancellationToken ct) => r.AtSafePoint(ct); public long PausesServed => r.PausesServed; }
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
        return NoSafePoint.Instance; // HOOK(gc): see the file header.
    }

    private sealed class NoSafePoint : ISafePoint
    {
        internal static readonly NoSafePoint Instance = new();

        public long PausesServed => 0;

        public void AtSafePoint(CancellationToken cancellationToken)
        {
        }
    }
}

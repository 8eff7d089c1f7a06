namespace Unjucks.LockFree;

/// <summary>
/// Back-off for lock-free retry loops and for short waits on another thread's in-flight step: a thin wrapper
/// over <see cref="SpinWait"/>, which already does the right thing (exponentially longer <c>pause</c> spins,
/// then <see cref="Thread.Yield"/>/<c>Sleep(0)</c>, then <c>Sleep(1)</c> after about 20 rounds, and
/// yields at once on a single-processor machine).
/// </summary>
/// <remarks>
/// Create one per operation (it is a mutable struct: keep it in a local, never copy it) and call
/// <see cref="Spin"/> after each failed attempt. It never parks indefinitely; callers that may wait for a long
/// time must add their own timeout and cancellation and park on an event.
/// </remarks>
public struct Backoff
{
    private SpinWait _spin;

    /// <summary>How many times <see cref="Spin"/> has been called since creation or <see cref="Reset"/>.</summary>
    public readonly int Count => _spin.Count;

    /// <summary>True when the next <see cref="Spin"/> will give up the processor instead of busy-spinning.</summary>
    public readonly bool NextSpinWillYield => _spin.NextSpinWillYield;

    /// <summary>Waits a little, longer on each call.</summary>
    public void Spin() => _spin.SpinOnce();

    /// <summary>Starts again from the shortest wait.</summary>
    public void Reset() => _spin.Reset();
}

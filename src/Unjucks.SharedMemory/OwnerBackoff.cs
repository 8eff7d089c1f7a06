using System.Diagnostics;

namespace Unjucks.SharedMemory;

/// <summary>
/// Back-off for a thread that waits on a word another agent holds for a short critical step (a claimed
/// directory entry, a state slot being written, a message slot being filled). It spins, then yields, then sleeps
/// 1 ms, and says when to ask the registry whether the holder is still alive: first after the spin phase, then
/// every 10 ms (a liveness probe opens a file, so it is not done on every iteration). It also bounds the wait:
/// <see cref="Exceeded"/> turns true <see cref="Bound"/> after the first wait, and the caller then stops with a
/// <see cref="TimeoutException"/> (a live holder) or a <see cref="SharedRegionFormatException"/> (a word no agent
/// leaves), so that no call waits forever on damaged memory.
/// </summary>
internal struct OwnerBackoff
{
    /// <summary>How long one non-blocking call waits on one holder: live holders keep these words for a few
    /// instructions, so this is reached only by a stopped (SIGSTOP) or starved holder, or by damaged memory.</summary>
    internal static readonly TimeSpan Bound = TimeSpan.FromMilliseconds(250);

    private static readonly long CheckInterval = Stopwatch.Frequency / 100;
    private static readonly long DefaultBoundTicks = (long)(Bound.TotalSeconds * Stopwatch.Frequency);
    private readonly long _boundTicks;
    private SpinWait _spinner;
    private long _nextCheck;
    private long _started;

    /// <summary>A back-off whose bound is <paramref name="bound"/> instead of <see cref="Bound"/> (blocking callers
    /// retry in short steps so that they keep to their own timeout).</summary>
    internal OwnerBackoff(TimeSpan bound) => _boundTicks = Math.Max(1, (long)(bound.TotalSeconds * Stopwatch.Frequency));

    /// <summary>The same bound, not started: for a caller that saw progress (a position moved on) and now waits on
    /// something else.</summary>
    internal readonly OwnerBackoff Restarted() => _boundTicks == 0 ? default : new OwnerBackoff(_boundTicks);

    private OwnerBackoff(long boundTicks) => _boundTicks = boundTicks;

    /// <summary>True once the bound has passed since the first <see cref="WaitAndShouldCheck"/>.</summary>
    internal readonly bool Exceeded => _started != 0 && Stopwatch.GetTimestamp() - _started > (_boundTicks == 0 ? DefaultBoundTicks : _boundTicks);

    /// <summary>Waits one step; true when the caller should check the holder's liveness now.</summary>
    internal bool WaitAndShouldCheck()
    {
        if (_started == 0)
        {
            _started = Stopwatch.GetTimestamp();
        }

        _spinner.SpinOnce(sleep1Threshold: 30);
        if (_spinner.Count < 25)
        {
            return false;
        }

        long now = Stopwatch.GetTimestamp();
        if (now - _nextCheck < 0)
        {
            return false;
        }

        _nextCheck = now + CheckInterval;
        return true;
    }
}

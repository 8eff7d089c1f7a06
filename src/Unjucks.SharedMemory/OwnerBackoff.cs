using System.Diagnostics;

namespace Unjucks.SharedMemory;

/// <summary>
/// Back-off for a thread that waits on a word another agent holds for a short critical step (a claimed
/// directory entry, a state slot being written, a message slot being filled). It spins, then yields, then sleeps
/// 1 ms, and says when to ask the registry whether the holder is still alive: first after the spin phase, then
/// every 10 ms (a liveness probe opens a file, so it is not done on every iteration).
/// </summary>
internal struct OwnerBackoff
{
    private static readonly long CheckInterval = Stopwatch.Frequency / 100;
    private SpinWait _spinner;
    private long _nextCheck;

    /// <summary>Waits one step; true when the caller should check the holder's liveness now.</summary>
    internal bool WaitAndShouldCheck()
    {
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

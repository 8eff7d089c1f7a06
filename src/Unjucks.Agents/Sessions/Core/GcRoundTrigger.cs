// GcRoundTrigger: when a session with a memory budget starts a coordinated GC round. Pure: the caller feeds the
// pressure (the larger of reserved and measured memory, over the budget) whenever it measures it, and the clock is a
// TimeProvider, so tests drive it over random histories with no real time.
//
//   START    pressure at or above Threshold (the seed's 0.8), and no round in the last Cooldown: a round that just
//            ran needs time to show in the next PSS reading, and agents collecting back to back would do nothing but
//            stall.
//   HOLD     after a round, pressure that stays high starts the next one once Cooldown has passed.
namespace Unjucks.Agents.Sessions.Core;

/// <summary>Decides when a coordinated GC round starts (see the file comment).</summary>
internal sealed class GcRoundTrigger(TimeProvider time, double threshold = GcRoundTrigger.DefaultThreshold, TimeSpan? cooldown = null)
{
    /// <summary>The seed's threshold: rounds start at 0.8 of the budget.</summary>
    internal const double DefaultThreshold = 0.8;

    /// <summary>Least time between two rounds.</summary>
    internal static readonly TimeSpan DefaultCooldown = TimeSpan.FromSeconds(5);

    private readonly long _cooldownTicks = (long)((cooldown ?? DefaultCooldown).TotalSeconds * time.TimestampFrequency);
    private long _lastRound;
    private bool _anyRound;

    /// <summary>Rounds started so far.</summary>
    internal long Rounds { get; private set; }

    /// <summary>One reading of the pressure; true when a round starts now.</summary>
    internal bool Observe(double pressure)
    {
        long now = time.GetTimestamp();
        if (pressure < threshold || (_anyRound && now - _lastRound < _cooldownTicks))
        {
            return false;
        }

        _anyRound = true;
        _lastRound = now;
        Rounds++;
        return true;
    }
}

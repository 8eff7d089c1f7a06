// Gradient2Policy: Netflix concurrency-limits Gradient2Limit (github.com/Netflix/concurrency-limits,
// Gradient2Limit.java), restated from its documented algorithm:
//   shortRtt = this sample's latency; longRtt = exponential average of shortRtt over LongWindow samples
//   (plain average during the first LongWindowWarmup samples);
//   if longRtt / shortRtt > 2: longRtt *= 0.95 (recover quickly after a long overload);
//   if inFlight < limit / 2: keep the limit (app-limited: no evidence about capacity);
//   gradient = clamp(Tolerance * longRtt / shortRtt, 0.5, 1.0);
//   newLimit = estimate * gradient + QueueSize;  estimate = estimate * (1 - Smoothing) + newLimit * Smoothing.
// The estimate is kept as a double (the integer limit is its floor, clamped to [Min, Max]) so that small
// smoothed steps accumulate. Our addition: memory pressure above MemoryPressureCritical multiplies the
// estimate by 0.9 (Gradient2 knows only latency).
namespace Unjucks.Agents;

internal sealed class Gradient2Policy : IConcurrencyLimitPolicy
{
    private readonly AdaptiveConcurrencyOptions _o;
    private double _estimate;
    private double _longRtt;
    private int _longCount;

    public Gradient2Policy(AdaptiveConcurrencyOptions options)
    {
        _o = options;
        _estimate = options.InitialLimit;
    }

    public string Reason { get; private set; } = "starting";

    public int Next(int limit, ConcurrencySample sample)
    {
        double shortRtt = Math.Max(sample.Latency.TotalMilliseconds, 1e-6);
        AddLong(shortRtt);
        if (_longRtt / shortRtt > 2)
        {
            _longRtt *= 0.95;
        }

        if (sample.MemoryPressure > _o.MemoryPressureCritical)
        {
            _estimate = Math.Max(_o.MinLimit, _estimate * 0.9);
            Reason = "memory pressure: estimate x 0.9";
            return (int)_estimate;
        }

        int inFlight = sample.InFlight == 0 ? limit : sample.InFlight;
        if (inFlight < _estimate / 2)
        {
            Reason = "under half the limit in flight: holding";
            return (int)_estimate;
        }

        double gradient = Math.Clamp(_o.Tolerance * _longRtt / shortRtt, 0.5, 1.0);
        double proposed = _estimate * gradient + _o.QueueSize;
        _estimate = Math.Clamp(_estimate * (1 - _o.Smoothing) + proposed * _o.Smoothing, _o.MinLimit, _o.MaxLimit);
        Reason = FormattableString.Invariant($"gradient {gradient:0.00}: estimate {_estimate:0.0}");
        return (int)_estimate;
    }

    private void AddLong(double rtt)
    {
        if (_longCount == 0 || _longCount < _o.LongWindowWarmup)
        {
            _longCount++;
            _longRtt += (rtt - _longRtt) / _longCount; // running mean
        }
        else
        {
            double factor = 2.0 / (_o.LongWindow + 1);
            _longRtt = _longRtt * (1 - factor) + rtt * factor;
        }
    }
}

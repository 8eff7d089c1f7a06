// KneeSearchPolicy: finds the count with the highest throughput by measuring it, then keeps checking its neighbours.
// Why not the seed's rules or Gradient2: both react to trends between consecutive windows, so under a steady load
// (trends ~0) they stay wherever they are, even far from the best count (measured in docs/agents.md). Throughput
// as a function of the count is unimodal for the loads we care about (it rises while agents have cores or servers,
// then flattens or falls with contention), so a bracketing search finds its peak in a logarithmic number of windows.
//
//   SEARCH  a golden-section search over the integers of [lo, hi] (start: [MinLimit, MaxLimit]); each window measures
//           one count (the one the previous decision chose). Points m1 < m2 at 0.382 and 0.618 of the bracket; if
//           m2's throughput beats m1's by more than ImprovementThreshold the peak lies in [m1, hi], else in [lo, m2]
//           (ties go down: fewer agents for the same throughput). The bracket keeps both points, so one bad
//           comparison under noise costs a neighbour, not the answer. With 3 counts or fewer left, each is measured
//           and the lowest that no higher one beats by the threshold is chosen. 1..16 takes 7 or 8 windows.
//   TRACK   stay at the chosen count ("home"); every ProbeInterval windows measure one neighbour (alternately above
//           and below). A neighbour better by the threshold becomes home, and the next window probes one further in
//           the same direction (climbing while it pays). Throughputs are smoothed per count (half the old value,
//           half the new); a value older than StaleAfter windows is measured afresh.
//   CHANGE  if home's throughput moves by more than ChangeThreshold from its smoothed value in two windows in a
//           row, the load has changed: forget the measurements and search again from the whole range.
//   MEMORY  pressure above MemoryPressureCritical lowers the count by one at once and caps the search below it.
namespace Unjucks.Agents;

internal sealed class KneeSearchPolicy : IConcurrencyLimitPolicy
{
    private const double Smoothing = 0.5;
    private readonly AdaptiveConcurrencyOptions _o;
    private readonly double[] _throughput; // smoothed throughput per count (index = count); valid when _measuredAt > 0
    private readonly long[] _measuredAt;   // window in which the count was last measured; 0 = never
    private long _window;
    private bool _searching = true;
    private int _lo;
    private int _hi;
    private int _home;
    private int _sinceProbe;
    private int _probeSide = 1;
    private int _cap; // highest count allowed: MaxLimit, or lower after memory pressure until the load changes
    private int _drift;

    public KneeSearchPolicy(AdaptiveConcurrencyOptions options)
    {
        _o = options;
        _throughput = new double[options.MaxLimit + 2];
        _measuredAt = new long[options.MaxLimit + 2];
        _lo = options.MinLimit;
        _hi = options.MaxLimit;
        _cap = options.MaxLimit;
    }

    public string Reason { get; private set; } = "starting";

    public int Next(int limit, ConcurrencySample sample)
    {
        _window++;
        double measured = sample.Throughput;
        if (sample.MemoryPressure > _o.MemoryPressureCritical && limit > _o.MinLimit)
        {
            Observe(limit, measured);
            _cap = limit - 1;
            Restart(_o.MinLimit, limit - 1);
            _home = limit - 1;
            Reason = FormattableString.Invariant($"memory pressure {sample.MemoryPressure:0.00} > {_o.MemoryPressureCritical:0.00}: one agent fewer");
            return limit - 1;
        }

        if (_searching)
        {
            Observe(limit, measured);
            return SearchStep();
        }

        return TrackStep(limit, measured);
    }

    private int SearchStep()
    {
        while (true)
        {
            if (_hi - _lo <= 2)
            {
                for (int c = _lo; c <= _hi; c++)
                {
                    if (!IsFresh(c))
                    {
                        Reason = FormattableString.Invariant($"searching [{_lo}, {_hi}]: measuring {c}");
                        return c;
                    }
                }

                int best = _lo;
                for (int c = _lo + 1; c <= _hi; c++)
                {
                    if (Beats(c, best))
                    {
                        best = c;
                    }
                }

                _searching = false;
                _home = best;
                _sinceProbe = 0;
                _drift = 0;
                Reason = FormattableString.Invariant($"settled at {best} ({_throughput[best]:0.#}/s, the best of [{_lo}, {_hi}])");
                return best;
            }

            int m1 = _lo + (int)Math.Round((_hi - _lo) * 0.382);
            int m2 = Math.Max(m1 + 1, _lo + (int)Math.Round((_hi - _lo) * 0.618));
            foreach (int c in (ReadOnlySpan<int>)[m1, m2])
            {
                if (!IsFresh(c))
                {
                    Reason = FormattableString.Invariant($"searching [{_lo}, {_hi}]: measuring {c}");
                    return c;
                }
            }

            if (Beats(m2, m1))
            {
                _lo = m1;
            }
            else
            {
                _hi = m2;
            }
        }
    }

    private int TrackStep(int limit, double measured)
    {
        if (limit != _home)
        {
            // A probe (or a climb step) of a neighbour has been measured.
            Observe(limit, measured);
            int direction = Math.Sign(limit - _home);
            if (Beats(limit, _home))
            {
                _home = limit;
                _drift = 0;
                int further = limit + direction;
                if (further >= _o.MinLimit && further <= _cap)
                {
                    Reason = FormattableString.Invariant($"{limit} beats its neighbour: climbing to {further}");
                    return further;
                }

                Reason = FormattableString.Invariant($"moved to {limit}");
                return limit;
            }

            Reason = FormattableString.Invariant($"probe of {limit} no better: back to {_home}");
            return _home;
        }

        // A window at home: did the load change under us?
        double before = _throughput[_home];
        bool changed = IsFresh(_home) && before > 0 && Math.Abs(measured - before) > _o.ChangeThreshold * before;
        _drift = changed ? _drift + 1 : 0;
        Observe(_home, measured);
        if (_drift >= 2)
        {
            _cap = _o.MaxLimit;
            Restart(_o.MinLimit, _o.MaxLimit);
            Observe(_home, measured);
            int next = SearchStep();
            Reason = FormattableString.Invariant($"throughput at {limit} moved over {_o.ChangeThreshold:P0} twice: searching again; {Reason}");
            return next;
        }

        if (++_sinceProbe < _o.ProbeInterval)
        {
            Reason = FormattableString.Invariant($"holding {_home}");
            return _home;
        }

        _sinceProbe = 0;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            int neighbour = _home + _probeSide;
            _probeSide = -_probeSide;
            if (neighbour >= _o.MinLimit && neighbour <= _cap)
            {
                Reason = FormattableString.Invariant($"probing {neighbour}");
                return neighbour;
            }
        }

        Reason = FormattableString.Invariant($"holding {_home}");
        return _home;
    }

    /// <summary>Higher throughput than <paramref name="other"/> by more than the threshold.</summary>
    private bool Beats(int count, int other) => _throughput[count] > _throughput[other] * (1 + _o.ImprovementThreshold);

    private bool IsFresh(int count) => _measuredAt[count] > 0 && _window - _measuredAt[count] <= _o.StaleAfter;

    private void Observe(int count, double throughput)
    {
        if (count < 0 || count >= _throughput.Length)
        {
            return;
        }

        _throughput[count] = IsFresh(count) ? _throughput[count] * (1 - Smoothing) + throughput * Smoothing : throughput;
        _measuredAt[count] = _window;
    }

    private void Restart(int lo, int hi)
    {
        Array.Clear(_measuredAt);
        _searching = true;
        _lo = lo;
        _hi = Math.Max(lo, hi);
        _drift = 0;
    }
}

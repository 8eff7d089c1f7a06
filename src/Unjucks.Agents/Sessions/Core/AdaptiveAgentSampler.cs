// AdaptiveAgentSampler: turns a session's running totals into windows and the controller's decisions into active
// agent counts. Pure: the caller feeds totals on every tick (the coordinator does so every 10 ms) and the clock is a
// TimeProvider, so tests drive it with a modelled load and no real time.
//
//   WINDOW   from one decision to the next, at least AgentConcurrency.Window long. Throughput = tasks ended in it over
//            its length; latency = their mean submission-to-result time.
//   WARM-UP  no window runs until every active agent has registered and ended a task (ready): agent start-up, the
//            runtime's and the handler's first use would be measured as the count's throughput.
//   SETTLE   after each change the next window starts Window / 2 later: agents just activated are cold and tasks
//            moved off agents put on standby are in transit.
//   SKIPPED  a window that did not measure the count: fewer than MinCompletionsPerWindow tasks ended, or the session
//            had no more runnable tasks than active agents for over a quarter of its ticks (a starved session would
//            teach the controller that agents do not help). It changes nothing; the next window starts afresh.
//   DECIDE   a measured window is one sample for AdaptiveConcurrencyController; its limit is the new count, and each
//            change is kept with the controller's reason (History; the first entry is the starting count).
namespace Unjucks.Agents.Sessions.Core;

internal sealed class AdaptiveAgentSampler
{
    private readonly AgentConcurrency _settings;
    private readonly TimeProvider _time;
    private readonly AdaptiveConcurrencyController _controller;
    private readonly long _windowTicks;
    private readonly long _start;
    private readonly List<ActiveAgentsChange> _history = [];
    private long _windowStart;
    private long _completedAtWindowStart;
    private long _latencyAtWindowStart;
    private readonly long _settleTicks;
    private long _settleUntil;
    private bool _settling;
    private int _ticks;
    private int _backloggedTicks;

    internal AdaptiveAgentSampler(AgentConcurrency settings, TimeProvider time)
    {
        settings.Validate();
        _settings = settings;
        _time = time;
        Count = settings.EffectiveInitialAgents;
        _controller = new AdaptiveConcurrencyController(new AdaptiveConcurrencyOptions
        {
            MinLimit = settings.MinAgents,
            MaxLimit = settings.MaxAgents,
            InitialLimit = Count,
            Policy = settings.Policy,
        });
        _windowTicks = (long)(settings.Window.TotalSeconds * time.TimestampFrequency);
        _settleTicks = _windowTicks / 2;
        _start = time.GetTimestamp();
        _windowStart = _start;
        _history.Add(new ActiveAgentsChange(TimeSpan.Zero, 0, Count, "initial count"));
    }

    /// <summary>Agents that should take work now.</summary>
    internal int Count { get; private set; }

    /// <summary>Windows that measured the count and were fed to the controller.</summary>
    internal long Windows { get; private set; }

    /// <summary>Windows that ended without measuring (too few tasks ended, or too few runnable tasks).</summary>
    internal long SkippedWindows { get; private set; }

    /// <summary>The count's changes, oldest first, starting with the initial count.</summary>
    internal IReadOnlyList<ActiveAgentsChange> History => _history;

    /// <summary>One tick.</summary>
    /// <param name="endedTotal">Tasks ended since the session started.</param>
    /// <param name="latencyTotalNanoseconds">Their submission-to-result times added up, in nanoseconds.</param>
    /// <param name="backlogged">More runnable tasks than active agents now (each active agent has something to do).</param>
    /// <param name="memoryPressure">Reserved memory over the budget (0 without one).</param>
    /// <param name="ready">Every active agent has registered and ended a task (see WARM-UP).</param>
    /// <returns>The new count when it changes, else null.</returns>
    internal int? Tick(long endedTotal, long latencyTotalNanoseconds, bool backlogged, double memoryPressure, bool ready = true)
    {
        long now = _time.GetTimestamp();
        _settling &= now - _settleUntil <= 0; // the tick at _settleUntil still restarts the window: it begins there.
        if (!ready || _settling)
        {
            // Warming up or settling: the window starts afresh from here.
            _windowStart = now;
            _completedAtWindowStart = endedTotal;
            _latencyAtWindowStart = latencyTotalNanoseconds;
            _ticks = 0;
            _backloggedTicks = 0;
            return null;
        }

        _ticks++;
        _backloggedTicks += backlogged ? 1 : 0;
        long length = now - _windowStart;
        if (length < _windowTicks)
        {
            return null;
        }

        long ended = endedTotal - _completedAtWindowStart;
        long latency = latencyTotalNanoseconds - _latencyAtWindowStart;
        bool measured = ended >= _settings.MinCompletionsPerWindow && _backloggedTicks * 4 >= _ticks * 3;
        _windowStart = now;
        _completedAtWindowStart = endedTotal;
        _latencyAtWindowStart = latencyTotalNanoseconds;
        _ticks = 0;
        _backloggedTicks = 0;
        if (!measured)
        {
            SkippedWindows++;
            return null;
        }

        Windows++;
        double seconds = length / (double)_time.TimestampFrequency;
        var sample = new ConcurrencySample(ended / seconds, TimeSpan.FromTicks(Math.Max(0, latency / ended / 100)),
            Math.Clamp(memoryPressure, 0, 1), Count);
        int next = _controller.Record(sample);
        if (next == Count)
        {
            return null;
        }

        _history.Add(new ActiveAgentsChange(_time.GetElapsedTime(_start, now), Count, next, _controller.LastReason));
        Count = next;
        _settleUntil = now + _settleTicks;
        _settling = true;
        return next;
    }
}

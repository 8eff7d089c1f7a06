// The coordinator's book of one render job: the handle of every (round, template) task, submitted in dependency
// order (so each task's dependencies are submitted before it), and, once collected, each task's outcome.
// Counters for progress are written by the collector only (one task awaiting the results in submission order)
// and read by the progress reporter: plain atomics, no lock; the latency histogram, which cannot be read while
// written, takes a lock (one record per task, one read per report).
using System.Diagnostics;
using Unjucks.Agents;

namespace Unjucks.Templates.Jobs;

internal sealed class RenderRun
{
    private readonly Dictionary<string, int> _index;
    private readonly AgentTaskHandle?[] _handles;
    private readonly TemplateOutcome?[] _outcomes;
    private readonly long[] _perAgent;
    private readonly long _failedBefore;
    private readonly long _started;
    private Task? _collector;
    private readonly HdrHistogram.LongHistogram _latency = new(1, TimeSpan.FromHours(1).Ticks, 3); // ticks of parse + render + write
    private long _completed;
    private long _failed;

    internal RenderRun(IReadOnlyList<TemplateSource> templates, int rounds, long total, long failedBefore, int agents, long started)
    {
        Templates = templates;
        Rounds = rounds;
        Total = total;
        _failedBefore = failedBefore;
        _started = started;
        _index = new Dictionary<string, int>(templates.Count, StringComparer.Ordinal);
        for (int i = 0; i < templates.Count; i++)
        {
            _index[templates[i].Id] = i;
        }

        long tasks = (long)rounds * templates.Count;
        if (tasks > Array.MaxLength)
        {
            throw new ArgumentException($"{templates.Count} templates x {rounds} rounds is too many tasks for one job; use fewer rounds.");
        }

        _handles = new AgentTaskHandle?[tasks];
        _outcomes = new TemplateOutcome?[tasks];
        _perAgent = new long[agents];
    }

    internal IReadOnlyList<TemplateSource> Templates { get; }

    internal int Rounds { get; }

    internal long Total { get; }

    internal async Task SubmitAllAsync(AgentSession session, CancellationToken cancellationToken)
    {
        _collector = CollectInOrderAsync();
        for (int r = 0; r < Rounds; r++)
        {
            for (int i = 0; i < Templates.Count; i++)
            {
                var ids = Templates[i].FrontMatter.DependsOn;
                var deps = new AgentTaskHandle[ids.Count];
                for (int d = 0; d < deps.Length; d++)
                {
                    deps[d] = _handles[At(r, _index[ids[d]])]!;
                }

                var handle = await session.SubmitAsync(RenderTaskCodec.Payload(r, i), deps, cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _handles[At(r, i)], handle); // release: the collector reads it after its acquire below.
            }
        }
    }

    /// <summary>Waits until every outcome is collected (after the session completed: every result is there).</summary>
    internal Task CollectAsync() => _collector ?? Task.CompletedTask;

    internal TemplateOutcome Outcome(int round, int template) =>
        _outcomes[At(round, template)] ?? Canceled(Templates[template]);

    internal RenderJobProgress Progress(AgentSession session)
    {
        var perAgent = new long[_perAgent.Length];
        for (int i = 0; i < perAgent.Length; i++)
        {
            perAgent[i] = Interlocked.Read(ref _perAgent[i]); // atomic read of the collector's counter
        }

        long completed = Interlocked.Read(ref _completed); // atomic read of the collector's counter
        TimeSpan p95;
        lock (_latency)
        {
            p95 = _latency.TotalCount == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(_latency.GetValueAtPercentile(95));
        }

        return new RenderJobProgress(Stopwatch.GetElapsedTime(_started), _failedBefore + completed, Total, _failedBefore + Interlocked.Read(ref _failed),
            session.InFlight, session.AgentProcessIds, perAgent)
        {
            LatencyP95 = p95,
            ActiveAgents = session.ActiveAgents,
            ActiveAgentsHistory = session.ActiveAgentsHistory,
            MemoryReserved = session.MemoryReserved,
            TasksWaitingForMemory = session.TasksWaitingForMemory,
            MemoryMeasured = session.MemoryMeasured,
            GcRounds = session.GcRounds,
        };
    }

    private int At(int round, int template) => (round * Templates.Count) + template;

    private async Task CollectInOrderAsync()
    {
        await Task.Yield();
        for (int at = 0; at < _handles.Length; at++)
        {
            AgentTaskHandle? handle;
            var spin = new SpinWait();
            while ((handle = Volatile.Read(ref _handles[at])) is null) // acquire: pairs with the release in SubmitAllAsync
            {
                if (spin.NextSpinWillYield)
                {
                    await Task.Delay(1).ConfigureAwait(false); // submission is behind (the window is full): wait for it
                }
                else
                {
                    spin.SpinOnce();
                }
            }

            var template = Templates[at % Templates.Count];
            var outcome = await OutcomeOf(handle, template, at / Templates.Count == 0).ConfigureAwait(false);
            _outcomes[at] = outcome;
            if (outcome.Status != TemplateStatus.Rendered)
            {
                Interlocked.Increment(ref _failed); // one writer; atomic for the reporter's read
            }
            else
            {
                var t = outcome.Timings;
                lock (_latency)
                {
                    _latency.RecordValue(Math.Clamp((t.Parse + t.Render + t.Write).Ticks, 1, _latency.HighestTrackableValue));
                }
            }

            Interlocked.Increment(ref _completed); // one writer; atomic for the reporter's read
        }
    }

    private async Task<TemplateOutcome> OutcomeOf(AgentTaskHandle handle, TemplateSource template, bool firstRound)
    {
        ReadOnlyMemory<byte> bytes;
        try
        {
            bytes = await handle.Result.ConfigureAwait(false);
        }
        catch (AgentTaskFailedException e)
        {
            return EngineFailure(template, e);
        }

        var result = RenderTaskCodec.Decode(bytes);
        if ((uint)result.Agent < (uint)_perAgent.Length)
        {
            Interlocked.Increment(ref _perAgent[result.Agent]); // one writer; atomic for the reporter's read
        }

        var discovery = firstRound ? template.DiscoveryTime : TimeSpan.Zero;
        if (result.Error is not { } error)
        {
            return new TemplateOutcome(template.Id, template.SourcePath, TemplateStatus.Rendered, null, result.OutputPath,
                result.Timings with { Discovery = discovery }, TimeSpan.Zero);
        }

        var status = error.Kind switch
        {
            TemplateErrorKind.DependencyFailed => TemplateStatus.DependencyFailed,
            TemplateErrorKind.Canceled => TemplateStatus.Canceled,
            _ => TemplateStatus.Failed,
        };
        return new TemplateOutcome(template.Id, template.SourcePath, status, error, null, new TemplateTimings(discovery, default, default, default), TimeSpan.Zero);
    }

    private static TemplateOutcome EngineFailure(TemplateSource template, AgentTaskFailedException e)
    {
        var (status, kind, message) = e.ExceptionType switch
        {
            AgentTaskFailedException.LeaseTimeout => (TemplateStatus.Failed, TemplateErrorKind.Limit,
                $"its render did not end in time, and its agent was stopped ({e.Attempts} attempt(s)); look for an endless loop."),
            AgentTaskFailedException.AgentDied => (TemplateStatus.Failed, TemplateErrorKind.Render,
                $"its agent died while rendering it, {e.Attempts} time(s) (out of memory? a crash?); the other templates were rendered."),
            AgentTaskFailedException.DependencyFailed => (TemplateStatus.DependencyFailed, TemplateErrorKind.DependencyFailed,
                $"not rendered: a template it depends on could not be rendered ({e.AgentMessage})."),
            AgentTaskFailedException.SessionStopped => (TemplateStatus.Canceled, TemplateErrorKind.Canceled, "not rendered: the job stopped first."),
            _ => (TemplateStatus.Failed, TemplateErrorKind.Render, $"rendering failed: {e.ExceptionType}: {e.AgentMessage}"),
        };
        return new TemplateOutcome(template.Id, template.SourcePath, status, new TemplateError(kind, template.Id, message), null,
            new TemplateTimings(template.DiscoveryTime, default, default, default), TimeSpan.Zero);
    }

    private static TemplateOutcome Canceled(TemplateSource template) =>
        new(template.Id, template.SourcePath, TemplateStatus.Canceled, new TemplateError(TemplateErrorKind.Canceled, template.Id, "not rendered: the job was canceled first."),
            null, new TemplateTimings(template.DiscoveryTime, default, default, default), TimeSpan.Zero);
}

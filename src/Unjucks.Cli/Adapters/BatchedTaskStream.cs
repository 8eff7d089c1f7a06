// BatchedTaskStream: TEMPORARY stand-in for the engine's streaming job (until JobCoordinator.StartStreamingJobAsync
// is merged): tasks submitted while a batch runs wait for it to finish, then run as the next batch (one
// JobCoordinator.RunAsync per batch). Self-clocking, so it has batch barriers the streaming job does not have.
// Its summary merges the batches' summaries: counts and times add up; percentiles are the largest batch's value.
using Unjucks.Agents.Processes;
using AgentsLatency = Unjucks.Agents.Processes.LatencySummary;

namespace Unjucks.Cli.Adapters;

/// <summary>Runs submitted tasks as successive jobs of one coordinator.</summary>
internal sealed class BatchedTaskStream : ITemplateTaskStream
{
    private readonly JobCoordinator _coordinator;
    private readonly IProgress<JobProgress>? _progress;
    private readonly CancellationToken _cancellationToken;
    private readonly Lock _gate = new();
    private readonly List<(long Id, ReadOnlyMemory<byte> Payload)> _pending = [];
    private readonly Dictionary<long, TaskCompletionSource<long>> _completions = [];
    private readonly List<JobSummary> _summaries = [];
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Task _pump;
    private long _next;
    private bool _completing;

    public BatchedTaskStream(JobCoordinator coordinator, IProgress<JobProgress>? progress, CancellationToken cancellationToken)
    {
        _coordinator = coordinator;
        _progress = progress;
        _cancellationToken = cancellationToken;
        _pump = Task.Run(PumpAsync, CancellationToken.None);
    }

    public long Submit(ReadOnlyMemory<byte> payload)
    {
        lock (_gate)
        {
            if (_completing)
            {
                throw new InvalidOperationException("the job is completing; no more submissions.");
            }

            var id = _next++;
            _pending.Add((id, payload));
            _completions.Add(id, new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));
            _signal.Release();
            return id;
        }
    }

    public Task<long> Completion(long taskId)
    {
        lock (_gate)
        {
            return _completions[taskId].Task;
        }
    }

    public async Task<JobSummary> CompleteAsync()
    {
        lock (_gate)
        {
            _completing = true;
        }

        _signal.Release();
        await _pump.ConfigureAwait(false);
        return Merge(_summaries);
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _completing = true;
        }

        _signal.Release();
        try
        {
            await _pump.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _signal.Dispose();
    }

    private async Task PumpAsync()
    {
        while (true)
        {
            await _signal.WaitAsync(_cancellationToken).ConfigureAwait(false);
            List<(long Id, ReadOnlyMemory<byte> Payload)> batch;
            lock (_gate)
            {
                batch = [.. _pending];
                _pending.Clear();
                if (batch.Count == 0 && _completing)
                {
                    return;
                }
            }

            if (batch.Count == 0)
            {
                continue;
            }

            JobResult result;
            try
            {
                result = await _coordinator.RunAsync(batch.Select(b => b.Payload).ToList(), _progress, _cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                lock (_gate)
                {
                    foreach (var tcs in _completions.Values)
                    {
                        tcs.TrySetException(e);
                    }
                }

                throw;
            }

            _summaries.Add(result.Summary);
            for (var i = 0; i < batch.Count; i++)
            {
                TaskCompletionSource<long> tcs;
                lock (_gate)
                {
                    tcs = _completions[batch[i].Id];
                }

                if (result.Failures.TryGetValue(i, out var message))
                {
                    tcs.SetException(new AgentTaskFailedException(message));
                }
                else
                {
                    tcs.SetResult(result.Results[i]);
                }
            }
        }
    }

    private static JobSummary Merge(List<JobSummary> all)
    {
        static AgentsLatency Max(IEnumerable<AgentsLatency> l) => l.Aggregate(new AgentsLatency(default, default, default, default, default), (a, b) => new(
            TimeSpan.FromTicks(Math.Max(a.P50.Ticks, b.P50.Ticks)), TimeSpan.FromTicks(Math.Max(a.P95.Ticks, b.P95.Ticks)),
            TimeSpan.FromTicks(Math.Max(a.P99.Ticks, b.P99.Ticks)), TimeSpan.FromTicks(Math.Max(a.Max.Ticks, b.Max.Ticks)),
            TimeSpan.FromTicks(Math.Max(a.Mean.Ticks, b.Mean.Ticks))));
        var agents = all.SelectMany(s => s.Agents).GroupBy(a => a.Index).Select(g => g.Aggregate((a, b) => a with
        {
            TasksExecuted = a.TasksExecuted + b.TasksExecuted,
            HandlerTime = a.HandlerTime + b.HandlerTime,
            AttachedTime = a.AttachedTime + b.AttachedTime,
            ParkedTime = a.ParkedTime + b.ParkedTime,
            Steals = a.Steals + b.Steals,
            Alive = b.Alive,
        })).OrderBy(a => a.Index).ToList();
        var counts = agents.Where(a => a.Alive).Select(a => (double)a.TasksExecuted).ToList();
        var mean = counts.Count == 0 ? 0 : counts.Average();
        var cv = mean == 0 ? 0 : Math.Sqrt(counts.Average(c => (c - mean) * (c - mean))) / mean;
        var attached = agents.Sum(a => a.AttachedTime.Ticks);
        var elapsed = TimeSpan.FromTicks(all.Sum(s => s.Elapsed.Ticks));
        var tasks = all.Sum(s => s.TaskCount);
        return new JobSummary(tasks, elapsed, elapsed > TimeSpan.Zero ? tasks / elapsed.TotalSeconds : 0,
            Max(all.Select(s => s.Execution)), Max(all.Select(s => s.QueueTime)),
            all.Count == 0 ? default : all.Max(s => s.MessageLatencyP50), all.Count == 0 ? default : all.Max(s => s.MessageLatencyP95),
            all.Sum(s => s.TotalSteals), cv,
            attached == 0 ? 0 : (double)agents.Sum(a => a.AttachedTime.Ticks - a.HandlerTime.Ticks - a.ParkedTime.Ticks) / attached,
            all.Sum(s => s.AgentDeaths), all.Sum(s => s.RecoveredTasks), all.Sum(s => s.FailedTasks), agents, [.. all.SelectMany(s => s.ActiveCountChanges)]);
    }
}

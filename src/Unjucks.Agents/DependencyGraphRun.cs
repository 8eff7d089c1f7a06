// DependencyGraphRun: one execution of a validated DependencyPlan (algorithm and invariants in
// DependencyGraph.cs). All bookkeeping is under _gate; bodies are started and awaited outside it.
using System.Diagnostics;

namespace Unjucks.Agents;

internal sealed class DependencyGraphRun<TKey, TResult> where TKey : notnull
{
    private enum State : byte { Pending, Ready, Running, Done }

    private readonly DependencyPlan<TKey, TResult> _plan;
    private readonly int _maxConcurrency;
    private readonly TaskScheduler _scheduler;
    private readonly CancellationToken _cancellationToken;
    private readonly TaskCompletionSource<DependencyGraphResult<TKey, TResult>> _completion =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly object _gate = new();
    private readonly State[] _state;
    private readonly int[] _remaining;
    private readonly long[] _readyAt;
    private readonly NodeOutcome<TResult>?[] _outcomes;
    private readonly Queue<int> _ready = new();
    private int _running;
    private int _finished;
    private bool _canceled;
    private bool _completed;
    private CancellationTokenRegistration _registration;

    public DependencyGraphRun(DependencyPlan<TKey, TResult> plan, int maxConcurrency, TaskScheduler scheduler, CancellationToken cancellationToken)
    {
        _plan = plan;
        _maxConcurrency = maxConcurrency;
        _scheduler = scheduler;
        _cancellationToken = cancellationToken;
        int n = plan.Nodes.Length;
        _state = new State[n];
        _remaining = new int[n];
        _readyAt = new long[n];
        _outcomes = new NodeOutcome<TResult>?[n];
    }

    public Task<DependencyGraphResult<TKey, TResult>> Start()
    {
        lock (_gate)
        {
            long now = Stopwatch.GetTimestamp();
            for (int i = 0; i < _state.Length; i++)
            {
                _remaining[i] = _plan.Dependencies[i].Length;
                if (_remaining[i] == 0)
                {
                    MakeReady(i, now);
                }
            }
        }

        // May run OnCanceled synchronously when the token is already canceled. No body runs before the
        // Pump below, so no Complete/TryComplete on another thread can read _registration before this
        // assignment (the synchronous OnCanceled path disposes a default registration: a no-op).
        _registration = _cancellationToken.Register(static s => ((DependencyGraphRun<TKey, TResult>)s!).OnCanceled(), this);
        Pump();
        TryComplete();
        return _completion.Task;
    }

    private void MakeReady(int i, long now)
    {
        _state[i] = State.Ready;
        _readyAt[i] = now;
        _ready.Enqueue(i);
    }

    /// <summary>Starts ready nodes while below the concurrency limit.</summary>
    private void Pump()
    {
        List<int>? toStart = null;
        lock (_gate)
        {
            while (!_canceled && _running < _maxConcurrency && _ready.Count > 0)
            {
                int i = _ready.Dequeue();
                _state[i] = State.Running;
                _running++;
                (toStart ??= new List<int>()).Add(i);
            }
        }

        if (toStart is null)
        {
            return;
        }

        foreach (int i in toStart)
        {
            try
            {
                _ = Task.Factory.StartNew(
                    static s =>
                    {
                        var (run, index) = ((DependencyGraphRun<TKey, TResult>, int))s!;
                        return run.ExecuteAsync(index);
                    },
                    (this, i), CancellationToken.None, TaskCreationOptions.DenyChildAttach, _scheduler);
            }
            catch (Exception ex)
            {
                // The scheduler refused the task (for example, it was disposed): the node fails.
                long now = Stopwatch.GetTimestamp();
                Complete(i, NodeStatus.Failed, default, ex, now, now);
            }
        }
    }

    private async Task ExecuteAsync(int i)
    {
        long started = Stopwatch.GetTimestamp();
        var node = _plan.Nodes[i];
        NodeStatus status;
        TResult? result = default;
        Exception? error = null;
        try
        {
            var depIds = _plan.Dependencies[i];
            var results = new Dictionary<TKey, TResult>(depIds.Length, _plan.Comparer);
            foreach (int d in depIds)
            {
                // Written under _gate by the dependency's Complete, which happened before this node was
                // made ready (under the same lock) and queued, so the read sees it.
                results.Add(_plan.Nodes[d].Key, _outcomes[d]!.Result!);
            }

            result = await node.Work(new DependencyContext<TKey, TResult>(node.Key, results), _cancellationToken).ConfigureAwait(false);
            status = NodeStatus.Succeeded;
        }
        catch (OperationCanceledException oce) when (_cancellationToken.IsCancellationRequested)
        {
            status = NodeStatus.Canceled;
            error = oce;
        }
        catch (Exception ex)
        {
            status = NodeStatus.Failed;
            error = ex;
        }

        Complete(i, status, result, error, started, Stopwatch.GetTimestamp());
    }

    private void Complete(int i, NodeStatus status, TResult? result, Exception? error, long started, long finished)
    {
        lock (_gate)
        {
            _outcomes[i] = new NodeOutcome<TResult>(status, result, error,
                Stopwatch.GetElapsedTime(_readyAt[i], started), Stopwatch.GetElapsedTime(started, finished));
            _state[i] = State.Done;
            _running--;
            _finished++;
            if (status == NodeStatus.Succeeded)
            {
                foreach (int d in _plan.Dependents[i])
                {
                    if (_state[d] == State.Pending && --_remaining[d] == 0)
                    {
                        MakeReady(d, finished);
                    }
                }
            }
            else
            {
                MarkDependents(i, status == NodeStatus.Canceled ? NodeStatus.Canceled : NodeStatus.DependencyFailed, error);
            }
        }

        Pump();
        TryComplete();
    }

    /// <summary>Marks every transitive dependent of <paramref name="root"/> that has not started. Caller holds _gate.</summary>
    private void MarkDependents(int root, NodeStatus status, Exception? cause)
    {
        var work = new Stack<int>();
        work.Push(root);
        while (work.Count > 0)
        {
            int u = work.Pop();
            foreach (int d in _plan.Dependents[u])
            {
                // A dependent of a node that did not succeed can only be Pending (it needed u) or already
                // Done through another failed or canceled dependency, whose dependents were marked then.
                if (_state[d] == State.Pending)
                {
                    _state[d] = State.Done;
                    _outcomes[d] = new NodeOutcome<TResult>(status, default, cause, TimeSpan.Zero, TimeSpan.Zero);
                    _finished++;
                    work.Push(d);
                }
            }
        }
    }

    private void OnCanceled()
    {
        lock (_gate)
        {
            _canceled = true;
            for (int i = 0; i < _state.Length; i++)
            {
                if (_state[i] is State.Pending or State.Ready)
                {
                    _state[i] = State.Done;
                    _outcomes[i] = new NodeOutcome<TResult>(NodeStatus.Canceled, default, null, TimeSpan.Zero, TimeSpan.Zero);
                    _finished++;
                }
            }

            _ready.Clear();
        }

        TryComplete();
    }

    private void TryComplete()
    {
        Dictionary<TKey, NodeOutcome<TResult>> nodes;
        lock (_gate)
        {
            if (_completed || _finished != _state.Length)
            {
                return;
            }

            _completed = true;
            nodes = new Dictionary<TKey, NodeOutcome<TResult>>(_state.Length, _plan.Comparer);
            for (int i = 0; i < _state.Length; i++)
            {
                nodes.Add(_plan.Nodes[i].Key, _outcomes[i]!);
            }
        }

        // Dispose may wait for a running callback (OnCanceled) on another thread; it never waits for
        // itself, and we are not holding _gate here.
        _registration.Dispose();
        _completion.TrySetResult(new DependencyGraphResult<TKey, TResult>(nodes));
    }
}

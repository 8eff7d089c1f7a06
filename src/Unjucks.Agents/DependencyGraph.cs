// DependencyGraph: executes a DAG of asynchronous node bodies with no batch barriers.
//
// Reference: Kahn's algorithm (1962) for topological order, run incrementally: each node keeps a count of
// unfinished dependencies; the completion of a node decrements its dependents' counts and a dependent whose
// count reaches zero becomes ready at once (the seed's renderer waited for a whole batch instead).
// Cycles are found up front by an iterative three-colour depth-first search (CLRS 22.3), which names the
// nodes on the back edge's path.
//
// Invariants (all state below is guarded by one lock; node bodies run outside it):
//   - a node is started at most once, and only when every dependency is Succeeded;
//   - at most maxConcurrency bodies are Running at once (_running never exceeds it);
//   - every node reaches exactly one terminal outcome; the run completes when _finished == node count.
// Failure windows: a body that never completes keeps RunAsync pending (cancellation marks only unstarted
// nodes; running bodies receive the token and must observe it).
namespace Unjucks.Agents;

/// <summary>
/// Executes a DAG: a node starts as soon as all its dependencies succeeded (no batch barriers) and receives
/// their results. Add nodes with <see cref="Add"/>, then call <see cref="RunAsync"/> (which may be called
/// more than once; each run uses a snapshot of the nodes added so far).
/// </summary>
/// <typeparam name="TKey">Node key type.</typeparam>
/// <typeparam name="TResult">Node result type.</typeparam>
public sealed class DependencyGraph<TKey, TResult> where TKey : notnull
{
    private readonly IEqualityComparer<TKey> _comparer;
    private readonly Dictionary<TKey, int> _index;
    private readonly List<DependencyGraphNode<TKey, TResult>> _nodes = new();
    private readonly object _sync = new();

    /// <summary>Creates an empty graph.</summary>
    /// <param name="comparer">Key comparer (default: <see cref="EqualityComparer{T}.Default"/>).</param>
    public DependencyGraph(IEqualityComparer<TKey>? comparer = null)
    {
        _comparer = comparer ?? EqualityComparer<TKey>.Default;
        _index = new Dictionary<TKey, int>(_comparer);
    }

    /// <summary>Number of nodes added.</summary>
    public int Count
    {
        get
        {
            lock (_sync)
            {
                return _nodes.Count;
            }
        }
    }

    /// <summary>Adds a node. Dependencies may name keys that are added later; duplicates in <paramref name="dependsOn"/> are ignored.</summary>
    /// <param name="key">The node's key (unique in the graph).</param>
    /// <param name="dependsOn">Keys of the nodes that must succeed before this one starts.</param>
    /// <param name="work">The node body; receives the dependencies' results and the run's cancellation token.</param>
    /// <exception cref="ArgumentException">The key is already in the graph.</exception>
    public void Add(TKey key, IEnumerable<TKey> dependsOn,
                    Func<DependencyContext<TKey, TResult>, CancellationToken, ValueTask<TResult>> work)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(dependsOn);
        ArgumentNullException.ThrowIfNull(work);

        var seen = new HashSet<TKey>(_comparer);
        var deps = new List<TKey>();
        foreach (var d in dependsOn)
        {
            if (d is null)
            {
                throw new ArgumentException($"Node '{key}' lists a null dependency; pass only non-null keys.", nameof(dependsOn));
            }

            if (seen.Add(d))
            {
                deps.Add(d);
            }
        }

        lock (_sync)
        {
            if (_index.ContainsKey(key))
            {
                throw new ArgumentException($"A node with key '{key}' is already in the graph; keys must be unique.", nameof(key));
            }

            _index.Add(key, _nodes.Count);
            _nodes.Add(new DependencyGraphNode<TKey, TResult>(key, deps.ToArray(), work));
        }
    }

    /// <summary>
    /// Validates the graph, then runs it. Throws <see cref="MissingDependencyException"/> or
    /// <see cref="DependencyCycleException"/> (synchronously, before anything runs) when the graph is invalid.
    /// A failed node fails its transitive dependents with <see cref="NodeStatus.DependencyFailed"/> (cause
    /// attached) while independent nodes continue. Cancellation marks unstarted nodes
    /// <see cref="NodeStatus.Canceled"/>; the returned task then still completes normally.
    /// </summary>
    /// <param name="maxConcurrency">At most this many node bodies run at once; 0 means <see cref="Environment.ProcessorCount"/>.</param>
    /// <param name="scheduler">Where node bodies run (default <see cref="TaskScheduler.Default"/>).</param>
    /// <param name="cancellationToken">Cancels the run: no new node starts; running bodies receive the token.</param>
    /// <returns>One outcome per node.</returns>
    public Task<DependencyGraphResult<TKey, TResult>> RunAsync(
        int maxConcurrency = 0, TaskScheduler? scheduler = null, CancellationToken cancellationToken = default)
    {
        if (maxConcurrency < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxConcurrency), maxConcurrency,
                "maxConcurrency must be 0 (meaning Environment.ProcessorCount) or a positive number of node bodies.");
        }

        DependencyGraphNode<TKey, TResult>[] nodes;
        lock (_sync)
        {
            nodes = _nodes.ToArray();
        }

        var plan = DependencyPlan<TKey, TResult>.Build(nodes, _comparer);
        var run = new DependencyGraphRun<TKey, TResult>(
            plan, maxConcurrency == 0 ? Environment.ProcessorCount : maxConcurrency,
            scheduler ?? TaskScheduler.Default, cancellationToken);
        return run.Start();
    }
}

internal sealed class DependencyGraphNode<TKey, TResult> where TKey : notnull
{
    public DependencyGraphNode(TKey key, TKey[] dependsOn,
        Func<DependencyContext<TKey, TResult>, CancellationToken, ValueTask<TResult>> work)
    {
        Key = key;
        DependsOn = dependsOn;
        Work = work;
    }

    public TKey Key { get; }

    public TKey[] DependsOn { get; }

    public Func<DependencyContext<TKey, TResult>, CancellationToken, ValueTask<TResult>> Work { get; }
}

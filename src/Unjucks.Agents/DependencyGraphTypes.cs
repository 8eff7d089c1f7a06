namespace Unjucks.Agents;

/// <summary>What a node body sees when it runs: its key and the results of its direct dependencies.</summary>
/// <typeparam name="TKey">Node key type.</typeparam>
/// <typeparam name="TResult">Node result type.</typeparam>
public sealed class DependencyContext<TKey, TResult> where TKey : notnull
{
    internal DependencyContext(TKey key, IReadOnlyDictionary<TKey, TResult> dependencies)
    {
        Key = key;
        Dependencies = dependencies;
    }

    /// <summary>The key of the node being run.</summary>
    public TKey Key { get; }

    /// <summary>Results of the node's direct dependencies (all of them succeeded), keyed by dependency key.</summary>
    public IReadOnlyDictionary<TKey, TResult> Dependencies { get; }
}

/// <summary>Final state of one node after <see cref="DependencyGraph{TKey, TResult}.RunAsync"/>.</summary>
public enum NodeStatus
{
    /// <summary>The node body ran and returned a result.</summary>
    Succeeded,
    /// <summary>The node body threw; <see cref="NodeOutcome{TResult}.Error"/> holds the exception.</summary>
    Failed,
    /// <summary>A transitive dependency failed, so the node never ran; <see cref="NodeOutcome{TResult}.Error"/> holds the root cause.</summary>
    DependencyFailed,
    /// <summary>The run was canceled before the node started (or the node observed the cancellation and threw OperationCanceledException).</summary>
    Canceled,
}

/// <summary>The outcome of one node.</summary>
/// <typeparam name="TResult">Node result type.</typeparam>
public sealed class NodeOutcome<TResult>
{
    internal NodeOutcome(NodeStatus status, TResult? result, Exception? error, TimeSpan queueTime, TimeSpan duration)
    {
        Status = status;
        Result = result;
        Error = error;
        QueueTime = queueTime;
        Duration = duration;
    }

    /// <summary>Final status.</summary>
    public NodeStatus Status { get; }

    /// <summary>The node's result; set when <see cref="Status"/> is <see cref="NodeStatus.Succeeded"/>.</summary>
    public TResult? Result { get; }

    /// <summary>Failed: the node's exception; DependencyFailed: the root cause (the failed ancestor's exception); Canceled: the cancellation exception if the node threw one.</summary>
    public Exception? Error { get; }

    /// <summary>Time from "all dependencies succeeded" to "body started" (zero for nodes that never became ready).</summary>
    public TimeSpan QueueTime { get; }

    /// <summary>Time from "body started" to "body finished" (zero for nodes that never ran).</summary>
    public TimeSpan Duration { get; }
}

/// <summary>The result of a whole run.</summary>
/// <typeparam name="TKey">Node key type.</typeparam>
/// <typeparam name="TResult">Node result type.</typeparam>
public sealed class DependencyGraphResult<TKey, TResult> where TKey : notnull
{
    internal DependencyGraphResult(IReadOnlyDictionary<TKey, NodeOutcome<TResult>> nodes)
    {
        Nodes = nodes;
        bool all = true;
        foreach (var outcome in nodes.Values)
        {
            if (outcome.Status != NodeStatus.Succeeded)
            {
                all = false;
                break;
            }
        }

        AllSucceeded = all;
    }

    /// <summary>One outcome per node in the graph.</summary>
    public IReadOnlyDictionary<TKey, NodeOutcome<TResult>> Nodes { get; }

    /// <summary>True when every node succeeded.</summary>
    public bool AllSucceeded { get; }
}

/// <summary>Thrown by <see cref="DependencyGraph{TKey, TResult}.RunAsync"/> before anything runs when the graph has a cycle.</summary>
public sealed class DependencyCycleException : Exception
{
    /// <summary>Creates the exception for the given cycle.</summary>
    /// <param name="cycle">The nodes of the cycle: each depends on the next and the last depends on the first.</param>
    public DependencyCycleException(IReadOnlyList<object> cycle)
        : base(BuildMessage(cycle))
    {
        Cycle = cycle;
    }

    /// <summary>The nodes of one cycle, each listed once: each node depends on the next one, and the last depends on the first.</summary>
    public IReadOnlyList<object> Cycle { get; }

    private static string BuildMessage(IReadOnlyList<object> cycle)
    {
        ArgumentNullException.ThrowIfNull(cycle);
        var path = string.Join(" -> ", cycle.Append(cycle.Count > 0 ? cycle[0] : "?"));
        return $"The dependency graph has a cycle: {path} (each node depends on the next). Remove one of these dependencies; nothing was run.";
    }
}

/// <summary>Thrown by <see cref="DependencyGraph{TKey, TResult}.RunAsync"/> before anything runs when a node depends on a key that is not in the graph.</summary>
public sealed class MissingDependencyException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="node">The node that names the missing dependency.</param>
    /// <param name="missing">The key that is not in the graph.</param>
    public MissingDependencyException(object node, object missing)
        : base($"Node '{node}' depends on '{missing}', which is not in the graph. Add '{missing}' with Add(...) or remove the dependency; nothing was run.")
    {
        Node = node;
        Missing = missing;
    }

    /// <summary>The node that names the missing dependency.</summary>
    public object Node { get; }

    /// <summary>The key that is not in the graph.</summary>
    public object Missing { get; }
}

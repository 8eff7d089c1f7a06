// DependencyPlan: the validated, index-based form of a dependency graph (see DependencyGraph.cs header).
// Validation order: missing dependencies first (naming node and key), then cycles (iterative DFS, so a
// 100,000-deep chain cannot overflow the stack).
namespace Unjucks.Agents;

internal sealed class DependencyPlan<TKey, TResult> where TKey : notnull
{
    private DependencyPlan(DependencyGraphNode<TKey, TResult>[] nodes, int[][] deps, int[][] dependents, IEqualityComparer<TKey> comparer)
    {
        Nodes = nodes;
        Dependencies = deps;
        Dependents = dependents;
        Comparer = comparer;
    }

    public DependencyGraphNode<TKey, TResult>[] Nodes { get; }

    /// <summary>Dependencies[i]: indices of the nodes i depends on (distinct).</summary>
    public int[][] Dependencies { get; }

    /// <summary>Dependents[i]: indices of the nodes that depend on i (distinct).</summary>
    public int[][] Dependents { get; }

    public IEqualityComparer<TKey> Comparer { get; }

    public static DependencyPlan<TKey, TResult> Build(DependencyGraphNode<TKey, TResult>[] nodes, IEqualityComparer<TKey> comparer)
    {
        var index = new Dictionary<TKey, int>(nodes.Length, comparer);
        for (int i = 0; i < nodes.Length; i++)
        {
            index.Add(nodes[i].Key, i);
        }

        var deps = new int[nodes.Length][];
        var dependentLists = new List<int>[nodes.Length];
        for (int i = 0; i < nodes.Length; i++)
        {
            dependentLists[i] = new List<int>();
        }

        for (int i = 0; i < nodes.Length; i++)
        {
            var names = nodes[i].DependsOn;
            var ids = new int[names.Length];
            for (int j = 0; j < names.Length; j++)
            {
                if (!index.TryGetValue(names[j], out int d))
                {
                    throw new MissingDependencyException(nodes[i].Key, names[j]);
                }

                ids[j] = d;
                dependentLists[d].Add(i);
            }

            deps[i] = ids;
        }

        var dependents = new int[nodes.Length][];
        for (int i = 0; i < nodes.Length; i++)
        {
            dependents[i] = dependentLists[i].ToArray();
        }

        ThrowIfCycle(nodes, deps);
        return new DependencyPlan<TKey, TResult>(nodes, deps, dependents, comparer);
    }

    private static void ThrowIfCycle(DependencyGraphNode<TKey, TResult>[] nodes, int[][] deps)
    {
        const byte White = 0, Gray = 1, Black = 2;
        var colour = new byte[nodes.Length];
        var stack = new List<(int Node, int Next)>();
        for (int root = 0; root < nodes.Length; root++)
        {
            if (colour[root] != White)
            {
                continue;
            }

            colour[root] = Gray;
            stack.Add((root, 0));
            while (stack.Count > 0)
            {
                var (u, next) = stack[^1];
                if (next == deps[u].Length)
                {
                    colour[u] = Black;
                    stack.RemoveAt(stack.Count - 1);
                    continue;
                }

                stack[^1] = (u, next + 1);
                int v = deps[u][next];
                if (colour[v] == White)
                {
                    colour[v] = Gray;
                    stack.Add((v, 0));
                }
                else if (colour[v] == Gray)
                {
                    // Back edge u -> v: the stack from v to u is the cycle, each depending on the next,
                    // and u depends on v.
                    int from = stack.FindIndex(e => e.Node == v);
                    var cycle = new List<object>();
                    for (int k = from; k < stack.Count; k++)
                    {
                        cycle.Add(nodes[stack[k].Node].Key);
                    }

                    throw new DependencyCycleException(cycle);
                }
            }
        }
    }
}

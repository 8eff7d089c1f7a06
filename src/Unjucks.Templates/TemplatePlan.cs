// Validates a template dependency graph before it is handed to the DependencyGraph executor.
// Reference: R. Tarjan, "Depth-first search and linear graph algorithms", SIAM J. Comput. 1(2), 1972
// (strongly connected components; here iterative, so a long dependency chain cannot overflow the stack).
// Invariants on return: every Runnable template's dependencies are Runnable, and the Runnable subgraph
// is acyclic; every other template appears exactly once in Failed (duplicates of an id appear besides
// the winning file). Cost: O(V + E) for the components, O(V * depth) for the failure propagation, and a
// breadth-first search per cycle member (inside its component only).
namespace Unjucks.Templates;

/// <summary>
/// Splits a discovered template set into the templates that can run (a valid DAG: every dependency exists
/// and can run, no cycles) and the ones that cannot, each with its error. The dependency graph executor
/// refuses a graph with a missing dependency or a cycle as a whole; this check lets the rest render.
/// Order of checks: discovery errors; front matter dependency keys that collide in <c>deps</c>; missing
/// dependencies; cycles (Tarjan's strongly connected components; each member's message names the
/// shortest cycle through it); finally every template that depends, directly or not, on a failed one is
/// marked <see cref="TemplateStatus.DependencyFailed"/> naming the failed one.
/// </summary>
public sealed class TemplatePlan
{
    private TemplatePlan(IReadOnlyList<TemplateSource> runnable, IReadOnlyList<TemplateOutcome> failed)
    {
        Runnable = runnable;
        Failed = failed;
    }

    /// <summary>Templates to submit to the graph, ordered by id.</summary>
    public IReadOnlyList<TemplateSource> Runnable { get; }

    /// <summary>Templates that will not run, ordered by id, with their errors.</summary>
    public IReadOnlyList<TemplateOutcome> Failed { get; }

    /// <summary>Plans <paramref name="templates"/> (with discovery's <paramref name="failures"/>).</summary>
    /// <param name="templates">Discovered templates (unique ids).</param>
    /// <param name="failures">Discovery failures (their ids count as existing but failed).</param>
    /// <returns>The plan.</returns>
    /// <exception cref="ArgumentException">Two templates share an id.</exception>
    public static TemplatePlan Create(IReadOnlyList<TemplateSource> templates, IReadOnlyList<DiscoveryFailure> failures)
    {
        var byId = new Dictionary<string, TemplateSource>(StringComparer.Ordinal);
        foreach (var t in templates)
        {
            if (!byId.TryAdd(t.Id, t))
            {
                throw new ArgumentException($"two templates have the id '{t.Id}'; ids must be unique.", nameof(templates));
            }
        }

        var failed = new Dictionary<string, TemplateOutcome>(StringComparer.Ordinal);
        foreach (var f in failures.Where(f => f.Error.Kind != TemplateErrorKind.DuplicateId))
        {
            // A file whose front matter failed still names an id, so its dependents fail as DependencyFailed.
            failed.TryAdd(f.Error.TemplateId, Fail(f.Error, f.SourcePath, TemplateStatus.Failed, default));
        }

        // A duplicate loses to the first file with its id, which still runs; report it separately.
        var duplicates = failures.Where(f => f.Error.Kind == TemplateErrorKind.DuplicateId).Select(f => Fail(f.Error, f.SourcePath, TemplateStatus.Failed, default)).ToList();

        foreach (var t in templates)
        {
            var keys = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var dep in t.FrontMatter.DependsOn)
            {
                var key = TemplateRenderer.DepsKey(dep);
                if (keys.TryGetValue(key, out var other))
                {
                    failed[t.Id] = Fail(new TemplateError(TemplateErrorKind.FrontMatter, t.Id,
                        $"dependencies '{other}' and '{dep}' would both appear as deps.{key}; rename one of the templates."), t);
                    break;
                }

                keys[key] = dep;
                if (!byId.ContainsKey(dep) && !failed.ContainsKey(dep))
                {
                    failed[t.Id] = Fail(new TemplateError(TemplateErrorKind.MissingDependency, t.Id,
                        $"it depends on '{dep}', which is not a template (no {dep}.liquid or {dep}.njk under the template directories); fix the 'dependsOn' entry."), t);
                    break;
                }
            }
        }

        foreach (var (id, cycle) in FindCycles(templates.Where(t => !failed.ContainsKey(t.Id)).ToList()))
        {
            failed[id] = Fail(new TemplateError(TemplateErrorKind.DependencyCycle, id,
                $"it is part of the dependency cycle {string.Join(" -> ", cycle)}; remove one of these 'dependsOn' entries."), byId[id]);
        }

        // Propagate failures to dependents until nothing changes (a chain of length L takes L rounds).
        var rootOf = new Dictionary<string, string>(StringComparer.Ordinal);
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var t in templates)
            {
                if (failed.ContainsKey(t.Id))
                {
                    continue;
                }

                foreach (var dep in t.FrontMatter.DependsOn)
                {
                    if (failed.TryGetValue(dep, out var depOutcome))
                    {
                        var root = rootOf.GetValueOrDefault(dep, dep);
                        var rootKind = failed.TryGetValue(root, out var r) ? r.Error!.Kind : depOutcome.Error!.Kind;
                        var via = root == dep ? "" : $", which depends (directly or not) on '{root}'";
                        failed[t.Id] = Fail(new TemplateError(TemplateErrorKind.DependencyFailed, t.Id,
                            $"not rendered: it depends on '{dep}'{via}, which failed ({rootKind}). Fix '{root}' first."), t, TemplateStatus.DependencyFailed);
                        rootOf[t.Id] = root;
                        changed = true;
                        break;
                    }
                }
            }
        }

        var runnable = templates.Where(t => !failed.ContainsKey(t.Id)).OrderBy(t => t.Id, StringComparer.Ordinal).ToList();
        var failedList = failed.Values.Concat(duplicates).OrderBy(f => f.Id, StringComparer.Ordinal).ThenBy(f => f.SourcePath, StringComparer.Ordinal).ToList();
        return new TemplatePlan(runnable, failedList);
    }

    private static TemplateOutcome Fail(TemplateError error, TemplateSource t, TemplateStatus status = TemplateStatus.Failed) =>
        Fail(error, t.SourcePath, status, new TemplateTimings(t.DiscoveryTime, default, default, default));

    private static TemplateOutcome Fail(TemplateError error, string sourcePath, TemplateStatus status, TemplateTimings timings) =>
        new(error.TemplateId, sourcePath, status, error, null, timings, TimeSpan.Zero);

    /// <summary>For every template on a cycle, the shortest cycle through it (id, a -> b -> id).</summary>
    private static List<(string Id, List<string> Cycle)> FindCycles(List<TemplateSource> nodes)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < nodes.Count; i++)
        {
            index[nodes[i].Id] = i;
        }

        var edges = nodes.Select(n => n.FrontMatter.DependsOn.Where(index.ContainsKey).Select(d => index[d]).ToArray()).ToArray();
        var result = new List<(string, List<string>)>();
        foreach (var scc in StronglyConnected(edges))
        {
            if (scc.Count < 2)
            {
                continue; // Self-dependencies are refused by the front matter parser.
            }

            var members = scc.ToHashSet();
            foreach (var start in scc.OrderBy(i => nodes[i].Id, StringComparer.Ordinal))
            {
                result.Add((nodes[start].Id, ShortestCycle(start, edges, members).Select(i => nodes[i].Id).ToList()));
            }
        }

        return result;
    }

    /// <summary>Breadth-first search from <paramref name="start"/> back to itself inside one component.</summary>
    private static List<int> ShortestCycle(int start, int[][] edges, HashSet<int> members)
    {
        var parent = new Dictionary<int, int>();
        var queue = new Queue<int>();
        queue.Enqueue(start);
        while (queue.Count > 0)
        {
            int n = queue.Dequeue();
            foreach (var d in edges[n])
            {
                if (!members.Contains(d))
                {
                    continue;
                }

                if (d == start)
                {
                    var path = new List<int> { start };
                    for (int c = n; c != start; c = parent[c])
                    {
                        path.Add(c);
                    }

                    path.Add(start);
                    path.Reverse(1, path.Count - 2);
                    return path;
                }

                if (parent.TryAdd(d, n))
                {
                    queue.Enqueue(d);
                }
            }
        }

        return [start, start];
    }

    /// <summary>Tarjan's strongly connected components, iterative (no recursion depth limit).</summary>
    private static List<List<int>> StronglyConnected(int[][] edges)
    {
        int n = edges.Length;
        var idx = new int[n];
        var low = new int[n];
        var onStack = new bool[n];
        Array.Fill(idx, -1);
        var stack = new Stack<int>();
        var components = new List<List<int>>();
        int counter = 0;
        var work = new Stack<(int Node, int Edge)>();
        for (int s = 0; s < n; s++)
        {
            if (idx[s] >= 0)
            {
                continue;
            }

            work.Push((s, 0));
            while (work.Count > 0)
            {
                var (v, e) = work.Pop();
                if (e == 0)
                {
                    idx[v] = low[v] = counter++;
                    stack.Push(v);
                    onStack[v] = true;
                }

                if (e < edges[v].Length)
                {
                    work.Push((v, e + 1));
                    int w = edges[v][e];
                    if (idx[w] < 0)
                    {
                        work.Push((w, 0));
                    }
                    else if (onStack[w])
                    {
                        low[v] = Math.Min(low[v], idx[w]);
                    }

                    continue;
                }

                // v is finished: fold its low link into its parent, pop its component if it is a root.
                if (work.Count > 0)
                {
                    var (parentNode, _) = work.Peek();
                    low[parentNode] = Math.Min(low[parentNode], low[v]);
                }

                if (low[v] == idx[v])
                {
                    var component = new List<int>();
                    int w;
                    do
                    {
                        w = stack.Pop();
                        onStack[w] = false;
                        component.Add(w);
                    }
                    while (w != v);
                    components.Add(component);
                }
            }
        }

        return components;
    }
}

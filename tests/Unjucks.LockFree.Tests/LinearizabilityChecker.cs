using System.Collections.Immutable;
using System.Text;

namespace Unjucks.LockFree.Tests;

/// <summary>One completed operation of a concurrent history, with its invocation and response times.</summary>
internal sealed record HistoryOp(int Thread, string Name, long Arg, bool Ok, long Value, long Invoked, long Returned)
{
    public override string ToString() =>
        $"[{Invoked,3}..{Returned,3}] thread {Thread}: {Name}({(Arg == 0 ? "" : Arg.ToString(System.Globalization.CultureInfo.InvariantCulture))}) -> {Ok}{(Ok && Value != 0 ? $", {Value}" : "")}";
}

/// <summary>
/// A Wing-Gong linearizability checker (J. Wing, C. Gong, "Testing and Verifying Concurrent Objects",
/// JPDC 1993; with the memoisation of G. Lowe, "Testing for Linearizability", 2017): searches for an order of
/// the operations that respects real time (an operation that returned before another was invoked comes
/// first) and in which every operation's result matches a sequential model.
/// </summary>
internal static class LinearizabilityChecker
{
    /// <summary>The sequential model: applies <paramref name="op"/> to <paramref name="state"/>; false when
    /// the model would not have returned what the operation returned.</summary>
    public delegate bool Step(ImmutableList<long> state, HistoryOp op, out ImmutableList<long> next);

    public static bool IsLinearizable(IReadOnlyList<HistoryOp> history, ImmutableList<long> initial, Step step)
    {
        if (history.Count > 62)
        {
            throw new ArgumentException("The checker handles at most 62 operations per history.", nameof(history));
        }

        var failed = new HashSet<(ulong, string)>();
        return Search(history, (1UL << history.Count) - 1, initial, step, failed);
    }

    public static string Describe(IEnumerable<HistoryOp> history, ImmutableList<long> initial)
    {
        var text = new StringBuilder();
        text.Append("initial contents [").AppendJoin(", ", initial).AppendLine("], history:");
        foreach (HistoryOp op in history.OrderBy(o => o.Invoked))
        {
            text.Append("  ").AppendLine(op.ToString());
        }

        return text.ToString();
    }

    private static bool Search(IReadOnlyList<HistoryOp> ops, ulong pending, ImmutableList<long> state, Step step, HashSet<(ulong, string)> failed)
    {
        if (pending == 0)
        {
            return true;
        }

        var key = (pending, string.Join(',', state));
        if (failed.Contains(key))
        {
            return false;
        }

        // Only an operation invoked before every pending operation's response can be linearized next.
        long firstReturn = long.MaxValue;
        for (int i = 0; i < ops.Count; i++)
        {
            if ((pending & (1UL << i)) != 0)
            {
                firstReturn = Math.Min(firstReturn, ops[i].Returned);
            }
        }

        for (int i = 0; i < ops.Count; i++)
        {
            if ((pending & (1UL << i)) != 0 && ops[i].Invoked < firstReturn
                && step(state, ops[i], out ImmutableList<long> next)
                && Search(ops, pending & ~(1UL << i), next, step, failed))
            {
                return true;
            }
        }

        failed.Add(key);
        return false;
    }
}

/// <summary>
/// Runs many small random concurrent histories (threads x operations) on fresh objects, timestamps every
/// invocation and response with one global counter, and checks each with <see cref="LinearizabilityChecker"/>.
/// Threads stay hot between histories (a spinning phase hand-off, not a blocking barrier) so that their
/// operations overlap; the run ends after <c>minOverlapping</c> histories with overlapping operations,
/// <c>maxHistories</c> histories, or a time budget, whichever comes first (the budget only bounds the test's
/// length; nothing asserts a speed).
/// </summary>
internal static class HistoryRunner
{
    public static void Run<TSubject>(
        string what,
        int threads,
        int opsPerThread,
        Func<Random, (TSubject Subject, ImmutableList<long> Initial)> create,
        Func<int, Random, (string Name, long Arg)> choose,
        Func<TSubject, string, long, (bool Ok, long Value)> execute,
        LinearizabilityChecker.Step model,
        int minOverlapping = 200,
        int maxHistories = 20_000)
    {
        var budget = System.Diagnostics.Stopwatch.StartNew();
        var random = new Random(20261128);
        (TSubject subject, ImmutableList<long> initial) = create(random);
        var history = new List<HistoryOp>();
        long clock = 0;
        long phase = 0; // histories started
        long done = 0;  // thread-histories finished
        long arrived = 0; // thread-histories started
        bool stop = false;
        int histories = 0;
        int overlapping = 0;
        string? failure = null;

        var bodies = new Action[threads];
        for (int t = 0; t < threads; t++)
        {
            int me = t;
            bodies[t] = () =>
            {
                var mine = new Random(1000 + me);
                var ops = new List<HistoryOp>(opsPerThread);
                for (long it = 0; ; it++)
                {
                    // Wait for history `it` to be set up. Acquire: pairs with the release store of phase
                    // below, so subject, initial and stop written before it are visible.
                    var wait = new SpinWait();
                    while (Volatile.Read(ref phase) < it)
                    {
                        wait.SpinOnce(sleep1Threshold: -1);
                    }

                    if (Volatile.Read(ref stop))
                    {
                        return;
                    }

                    // Start gate: wait until every thread is here too, busy-spinning for a while (threads
                    // leave within nanoseconds of each other) and then yielding (a thread waiting for a
                    // core gets it). Cumulative count: no reset race between histories.
                    Interlocked.Increment(ref arrived);
                    int spins = 0;
                    while (Volatile.Read(ref arrived) < threads * (it + 1))
                    {
                        if (++spins < 4_000)
                        {
                            Thread.SpinWait(1);
                        }
                        else
                        {
                            Thread.Yield();
                        }
                    }

                    ops.Clear();
                    for (int i = 0; i < opsPerThread; i++)
                    {
                        Thread.SpinWait(mine.Next(0, 8)); // vary the interleavings
                        (string name, long arg) = choose(me, mine);
                        long invoked = Interlocked.Increment(ref clock);
                        (bool ok, long value) = execute(subject, name, arg);
                        long returned = Interlocked.Increment(ref clock);
                        ops.Add(new HistoryOp(me, name, arg, ok, value, invoked, returned));
                    }

                    lock (history)
                    {
                        history.AddRange(ops);
                    }

                    // The last thread to finish checks the history and sets up the next one. The
                    // Interlocked increment orders every thread's history append before the check.
                    if (Interlocked.Increment(ref done) == threads * (it + 1))
                    {
                        lock (history)
                        {
                            if (!LinearizabilityChecker.IsLinearizable(history, initial, model))
                            {
                                failure = $"{what}: history {histories} is not linearizable.\n{LinearizabilityChecker.Describe(history, initial)}";
                            }

                            if (history.Any(a => history.Any(b => a.Thread != b.Thread && a.Invoked < b.Returned && b.Invoked < a.Returned)))
                            {
                                overlapping++;
                            }

                            histories++;
                            history.Clear();
                        }

                        clock = 0;
                        (subject, initial) = create(random);
                        // Enough overlapping histories; or, after maxHistories or 4 s, some overlap (on one core,
                        // none is required); or a hard 30 s bound (a loaded machine may rarely run two of the
                        // threads at once).
                        bool budgetSpent = histories >= maxHistories || budget.Elapsed > TimeSpan.FromSeconds(4);
                        bool someOverlap = overlapping >= minOverlapping / 10 || Environment.ProcessorCount == 1;
                        stop = failure is not null || overlapping >= minOverlapping || (budgetSpent && someOverlap)
                            || budget.Elapsed > TimeSpan.FromSeconds(30);
                        // Release: publishes the new subject, initial and stop; pairs with the acquire loads
                        // of phase above.
                        Volatile.Write(ref phase, it + 1);
                    }
                }
            };
        }

        Concurrent.Run(what, bodies);
        Assert.That(failure, Is.Null, failure);
        TestContext.Out.WriteLine($"{what}: {histories} histories, {overlapping} with overlapping operations");
        if (Environment.ProcessorCount > 1)
        {
            // On one core operations overlap only when a thread is preempted inside one: not guaranteed.
            Assert.That(overlapping, Is.GreaterThan(0), "no history had overlapping operations: the check tested nothing concurrent");
        }
    }
}

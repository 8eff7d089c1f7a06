// LiveCounters: what the template bodies tell the dashboard while a threads-mode job runs.
//
// Writers: the node bodies, on the scheduler's workers (each worker writes its own busy flag; the shared
// counters are Interlocked adds). Reader: the snapshot loop, every 250 ms, which only needs each value to be
// atomic and recent, not a consistent cut across counters (a snapshot is a display, the summary is computed
// from the graph's result after the run).
// Queue depth: templates whose dependencies have all been rendered (ready) and that no worker has started yet,
// over all rounds: the dependency graph's ready FIFO plus the scheduler's deques and injector. The counter keeps
// its own copy of "dependencies left" per (round, template), decremented when a body succeeds; the graph keeps
// the authoritative one. A failed body makes no dependent ready (the graph fails them without running them).
namespace Unjucks.Cli.Adapters;

/// <summary>Live per-worker and job-wide counters of a threads-mode job.</summary>
internal sealed class LiveCounters
{
    private readonly PaddedLong[] _busy;
    private readonly int[] _depsLeft;
    private readonly int[][] _dependents;
    private readonly int _templatesPerRound;
    private PaddedLong _started;
    private PaddedLong _ready;
    private PaddedLong _completed;
    private PaddedLong _failed;

    /// <param name="workers">Worker count.</param>
    /// <param name="rounds">Rounds of the template tree.</param>
    /// <param name="dependencies">Per runnable template (by index), the indexes of the templates it depends on.</param>
    public LiveCounters(int workers, int rounds, IReadOnlyList<int[]> dependencies)
    {
        _busy = new PaddedLong[workers];
        _templatesPerRound = dependencies.Count;
        _depsLeft = new int[rounds * _templatesPerRound];
        var dependents = new List<int>[_templatesPerRound];
        for (var i = 0; i < _templatesPerRound; i++)
        {
            dependents[i] = [];
        }

        long initiallyReady = 0;
        for (var i = 0; i < _templatesPerRound; i++)
        {
            foreach (var d in dependencies[i])
            {
                dependents[d].Add(i);
            }

            if (dependencies[i].Length == 0)
            {
                initiallyReady += rounds;
            }

            for (var r = 0; r < rounds; r++)
            {
                _depsLeft[(r * _templatesPerRound) + i] = dependencies[i].Length;
            }
        }

        _dependents = dependents.Select(d => d.ToArray()).ToArray();
        _ready.Value = initiallyReady; // before any worker sees this object (published by the graph's task start)
    }

    /// <summary>Worker <paramref name="worker"/> starts a template body (-1: not on a worker; counted, no flag).</summary>
    public void Started(int worker)
    {
        if ((uint)worker < (uint)_busy.Length)
        {
            // Release store of this worker's own flag; pairs with the acquire load in IsBusy (display only).
            Volatile.Write(ref _busy[worker].Value, 1);
        }

        // Atomic count; no ordering needed beyond atomicity (the snapshot reads it with Interlocked.Read).
        Interlocked.Increment(ref _started.Value);
    }

    /// <summary>Worker <paramref name="worker"/> finished the body of template <paramref name="index"/> in <paramref name="round"/>.</summary>
    public void Finished(int worker, int round, int index, bool succeeded)
    {
        if (succeeded)
        {
            foreach (var d in _dependents[index])
            {
                // Several dependencies of d may finish at once on different workers: the decrement is atomic, so
                // exactly one of them sees zero and counts d as ready.
                if (Interlocked.Decrement(ref _depsLeft[(round * _templatesPerRound) + d]) == 0)
                {
                    Interlocked.Increment(ref _ready.Value); // atomic count, read by QueueDepth
                }
            }
        }
        else
        {
            Interlocked.Increment(ref _failed.Value); // atomic count, read by Failed
        }

        Interlocked.Increment(ref _completed.Value); // atomic count, read by Completed
        if ((uint)worker < (uint)_busy.Length)
        {
            // Release store: the flag drops after the counts above; pairs with the acquire load in IsBusy.
            Volatile.Write(ref _busy[worker].Value, 0);
        }
    }

    /// <summary>Template bodies finished (rendered or failed).</summary>
    public long Completed => Interlocked.Read(ref _completed.Value); // atomic 64-bit read; pairs with the Increment in Finished

    /// <summary>Template bodies that failed.</summary>
    public long Failed => Interlocked.Read(ref _failed.Value); // atomic 64-bit read; pairs with the Increment in Finished

    /// <summary>Templates ready (dependencies rendered) and not started yet, over all rounds; never negative.</summary>
    public long QueueDepth
    {
        get
        {
            // Atomic reads of Interlocked counters. Started is read first: both only grow, and a template is counted
            // ready (in its last dependency's body) before the graph can start it, so ready >= started at every
            // instant and reading started first can only over-state the depth by what started in between.
            long started = Interlocked.Read(ref _started.Value);
            long ready = Interlocked.Read(ref _ready.Value);
            return Math.Max(0, ready - started);
        }
    }

    /// <summary>Whether <paramref name="worker"/> is inside a template body now.</summary>
    // Acquire load; pairs with the release stores in Started and Finished. A stale value shows the previous state
    // for one refresh.
    public bool IsBusy(int worker) => Volatile.Read(ref _busy[worker].Value) != 0;
}

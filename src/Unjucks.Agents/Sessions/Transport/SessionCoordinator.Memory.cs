// Measured memory and coordinated GC (AgentSessionOptions.MemoryBudgetBytes): every 500 ms the loop reads the agents'
// proportional set sizes (/proc/<pid>/smaps_rollup; this process's in threads mode); the pressure is the larger of the
// tasks' reservations and that measure, over the budget. It feeds the adaptive count (above 0.9 it lowers the count)
// and GcRoundTrigger (at 0.8, at most one round per cooldown): a round asks every live agent, through its GC request
// word, for a full compacting collection between two tasks. Without a budget nothing is measured.
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Unjucks.Agents.Sessions.Core;

namespace Unjucks.Agents.Sessions.Transport;

internal sealed partial class SessionCoordinator
{
    private static readonly long MeasureInterval = Stopwatch.Frequency / 2;

    private GcRoundTrigger? _gcTrigger;
    private long _lastMeasure;
    private long _memoryMeasured;
    private long _memoryMeasuredPeak;
    private long _gcRounds;

    /// <summary>The agents' summed PSS at the last reading, bytes (0 without a budget).</summary>
    internal long MemoryMeasured => Volatile.Read(ref _memoryMeasured); // acquire: pairs with MeasureMemory's release.

    /// <summary>The largest <see cref="MemoryMeasured"/> so far.</summary>
    internal long MemoryMeasuredPeak => Volatile.Read(ref _memoryMeasuredPeak); // acquire: pairs with MeasureMemory's release.

    /// <summary>Coordinated GC rounds started.</summary>
    internal long GcRounds => Volatile.Read(ref _gcRounds); // acquire: pairs with StartGcRound's increment.

    /// <summary>Reserved or measured memory, whichever is larger, over the budget (0 without one).</summary>
    private double MemoryPressure => MemoryBudgetBytes > 0 ? Math.Max(_core.MemoryReserved, MemoryMeasured) / (double)MemoryBudgetBytes : 0;

    private void MeasureMemory(long now)
    {
        if (MemoryBudgetBytes <= 0 || now - _lastMeasure < MeasureInterval)
        {
            return;
        }

        _lastMeasure = now;
        var pids = new List<int>(_lastBeat.Length);
        for (int i = 0; i < _lastBeat.Length; i++)
        {
            pids.Add(_processes.Pid(i));
        }

        long measured = ProcessMemory.PssOf(pids);
        Volatile.Write(ref _memoryMeasured, measured); // release; read by the gauge and AgentSession on other threads.
        if (measured > _memoryMeasuredPeak)
        {
            Volatile.Write(ref _memoryMeasuredPeak, measured); // release; only this thread writes it.
        }

        _gcTrigger ??= new GcRoundTrigger(_time);
        if (_gcTrigger.Observe(MemoryPressure))
        {
            StartGcRound(measured);
        }
    }

    private void StartGcRound(long measured)
    {
        Interlocked.Increment(ref _gcRounds); // full fence; GcRounds readers on other threads.
        _telemetry.GcRounds.Add(1);
        _options.Logger?.LogInformation("Memory at {Measured} of a {Budget} budget: coordinated GC round {Round}.", measured, MemoryBudgetBytes, GcRounds);
        if (_processes is AgentThreads)
        {
            // Threads mode: the agents share this process's heap; one collection off the loop thread serves them all.
            ThreadPool.UnsafeQueueUserWorkItem(static _ => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true), null);
            return;
        }

        for (int i = 0; i < _lastBeat.Length; i++)
        {
            if (_processes.Pid(i) != 0)
            {
                _segment.RequestAgentGc(i);
            }
        }
    }
}

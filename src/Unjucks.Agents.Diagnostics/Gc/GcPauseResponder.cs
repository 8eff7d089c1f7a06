// GcPauseResponder: the agent side of a coordinated GC round (protocol: docs/coordinated-gc.md; records:
// GcPauseLayout.cs).
//
// Fast path (no round): AtSafePoint reads the region's change sequence (the region's disposal flag and the
// counter: two acquire loads) and compares it with the value it saw last. Every request is a state-table write,
// and every state-table write bumps that counter, so "unchanged" proves "no new request" and nothing else is read.
// Only when the counter moved is the "gc/request" value read (a seqlock copy, no allocation, no syscall).
//
// Slow path (a request of an epoch this process has not served, from a coordinator that is alive): take a
// snapshot of this process's own GC numbers, publish the acknowledgement (phase Paused), then wait on the
// change sequence (futex, 50 ms slices) until the request moves to Resumed (or another epoch), the request's
// pause budget runs out on this agent's own clock, the coordinator's registration dies, or the caller cancels;
// finally take the after-snapshot and publish it (phase Released, with the reason). The coordinator induces the
// GC from outside (EventPipe) while we wait.
//
// Threads: meant for the agent host's loop thread (the thread that runs tasks). Concurrent callers are safe
// (exactly one claims an epoch with a CAS on _servedEpoch, so there is one acknowledgement per epoch), but only
// the claiming thread pauses: a host with several worker threads must route them through one safe point or stop
// the others itself, or their allocations show up in the round's numbers.
// Failure windows: an agent that is not among the round's targets still pauses when it sees a live request (the
// request names no targets; the pause ends with the round). A coordinator that is alive but hung keeps its
// agents paused until the request's budget runs out.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Unjucks.SharedMemory;

namespace Unjucks.Agents.Gc;

/// <summary>
/// Agent side of coordinated GC. Create one per agent process over its <see cref="SharedRegion"/> and call
/// <see cref="AtSafePoint"/> between tasks: without a pending request it costs two acquire loads; with one, it
/// acknowledges, blocks until the coordinator resumes (bounded by the request's own budget and the coordinator's
/// liveness), and publishes this process's GC numbers before and after.
/// </summary>
public sealed class GcPauseResponder
{
    private readonly SharedRegion _region;
    private long _lastSeenSequence = -1;
    private long _servedEpoch;
    private long _pausesServed;
    private string? _ackKey;

    /// <summary>Creates the responder for this process's registration in <paramref name="region"/>.</summary>
    /// <param name="region">The agent's region (the one the coordinator runs rounds on).</param>
    /// <exception cref="ArgumentException">The region's values or keys are too small for the GC records.</exception>
    public GcPauseResponder(SharedRegion region)
    {
        GcRegionRecords.CheckRegion(region, nameof(region));
        _region = region;
    }

    /// <summary>Number of rounds this responder acknowledged (and was released from).</summary>
    public long PausesServed => Interlocked.Read(ref _pausesServed); // atomic 64-bit read; no ordering needed for a statistic

    /// <summary>
    /// Serves a pending pause request, if any: acknowledges, waits for the coordinator to resume (at most the
    /// request's budget), and publishes the after-values. Returns at once when no request is pending.
    /// </summary>
    /// <param name="cancellationToken">Ends a pause early (the release is still published, reason "cancelled").</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled during a pause.</exception>
    /// <exception cref="ObjectDisposedException">The region was disposed.</exception>
    /// <exception cref="InvalidDataException">The region's "gc/request" value was written by something else (another format).</exception>
    public void AtSafePoint(CancellationToken cancellationToken = default)
    {
        long sequence = _region.ChangeSequence; // acquire load; pairs with the full-fence increment in every state write
        // Acquire read of this instance's cache; pairs with the Volatile.Write in CheckRequest (possibly another
        // caller thread). A stale value only costs one extra read of the request.
        if (sequence == Volatile.Read(ref _lastSeenSequence))
        {
            return;
        }

        CheckRequest(sequence, cancellationToken);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CheckRequest(long sequence, CancellationToken cancellationToken)
    {
        // Recorded BEFORE the request is read: a request written after `sequence` bumps the counter past it, so
        // the next call reads it. Release only for tidiness; it orders nothing shared (a per-instance cache).
        Volatile.Write(ref _lastSeenSequence, sequence);
        if (!GcRegionRecords.TryReadRequest(_region, out GcPauseRequest request, out _) || request.State != GcRequestState.Requested)
        {
            return;
        }

        long served = Volatile.Read(ref _servedEpoch); // acquire; pairs with the CAS below (another thread's claim)
        // Full-fence CAS: exactly one thread claims an epoch; it is also how a stale request is skipped only once.
        if (request.Epoch == served || Interlocked.CompareExchange(ref _servedEpoch, request.Epoch, served) != served)
        {
            return; // already served, or being served by another thread of this process
        }

        if (!GcRegionRecords.IsCoordinatorAlive(_region, request))
        {
            return; // a request left by a dead coordinator: not a pause (the epoch is marked served above)
        }

        Serve(request, cancellationToken);
    }

    private void Serve(GcPauseRequest request, CancellationToken cancellationToken)
    {
        string key = _ackKey ??= GcPauseLayout.AckKey(_region.Agents.CurrentSlot);
        int pid = Environment.ProcessId;
        long bytesBefore = GC.GetTotalMemory(forceFullCollection: false);
        int gen2Before = GC.CollectionCount(2);
        long pauseBefore = GC.GetTotalPauseDuration().Ticks;
        long fullGcIndexBefore = GC.GetGCMemoryInfo(GCKind.FullBlocking).Index;
        long start = Stopwatch.GetTimestamp();
        GcRegionRecords.WriteAck(_region, key, new GcPauseAck(
            GcAckPhase.Paused, GcReleaseReason.None, GcAckSource.None, pid, request.Epoch, bytesBefore, 0, gen2Before, 0, 0, 0, 0));
        GcReleaseReason reason = GcReleaseReason.Cancelled;
        try
        {
            reason = WaitForRelease(request, cancellationToken);
        }
        finally
        {
            // Read right after waking, before returning to the caller's work, so nothing of ours is allocated between.
            long pausedFor = Stopwatch.GetElapsedTime(start).Ticks;
            int gen2After = GC.CollectionCount(2);
            GCMemoryInfo full = GC.GetGCMemoryInfo(GCKind.FullBlocking);
            GcPauseAck release;
            if (full.Index > fullGcIndexBefore)
            {
                // The runtime's own record of the (induced) full blocking GC: unaffected by what this process allocated
                // between the ack and the GC (the EventPipe session's EventSource set-up allocates in the agent).
                long heapBefore = 0, heapAfter = 0;
                foreach (GCGenerationInfo generation in full.GenerationInfo)
                {
                    heapBefore += generation.SizeBeforeBytes;
                    heapAfter += generation.SizeAfterBytes;
                }

                long gcTime = 0;
                foreach (TimeSpan pause in full.PauseDurations)
                {
                    gcTime += pause.Ticks;
                }

                release = new GcPauseAck(GcAckPhase.Released, reason, GcAckSource.InducedGc, pid, request.Epoch, heapBefore, heapAfter,
                    gen2Before, gen2After, gcTime, full.Index, pausedFor);
            }
            else
            {
                release = new GcPauseAck(GcAckPhase.Released, reason, GcAckSource.TotalMemory, pid, request.Epoch, bytesBefore,
                    GC.GetTotalMemory(forceFullCollection: false), gen2Before, gen2After, GC.GetTotalPauseDuration().Ticks - pauseBefore, 0, pausedFor);
            }

            GcRegionRecords.WriteAck(_region, key, release);
            Interlocked.Increment(ref _pausesServed); // atomic counter; read by PausesServed
        }
    }

    /// <summary>Blocks until the round of <paramref name="request"/> is over for this agent; says why.</summary>
    private GcReleaseReason WaitForRelease(GcPauseRequest request, CancellationToken cancellationToken)
    {
        var budget = TimeSpan.FromMilliseconds(request.PauseBudgetMs);
        long start = Stopwatch.GetTimestamp();
        long lastLivenessCheck = start;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long sequence = _region.ChangeSequence; // read before the request: a change after it ends the wait below
            if (!GcRegionRecords.TryReadRequest(_region, out GcPauseRequest now, out _) || now.Epoch != request.Epoch)
            {
                return GcReleaseReason.Superseded;
            }

            if (now.State != GcRequestState.Requested)
            {
                return GcReleaseReason.Resumed;
            }

            TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
            if (elapsed >= budget)
            {
                return GcReleaseReason.BudgetExpired;
            }

            if (Stopwatch.GetElapsedTime(lastLivenessCheck) >= GcRegionRecords.LivenessInterval)
            {
                lastLivenessCheck = Stopwatch.GetTimestamp();
                if (!GcRegionRecords.IsCoordinatorAlive(_region, request))
                {
                    return GcReleaseReason.CoordinatorDied;
                }
            }

            TimeSpan left = budget - elapsed;
            _region.WaitForChange(sequence, left < GcRegionRecords.WaitSlice ? left : GcRegionRecords.WaitSlice, cancellationToken);
        }
    }
}

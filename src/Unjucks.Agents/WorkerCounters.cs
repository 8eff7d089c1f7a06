using System.Runtime.InteropServices;

namespace Unjucks.Agents;

/// <summary>
/// Per-worker statistics. Written only by the owning worker (plain read, <see cref="Volatile.Write(ref long, long)"/>
/// publish), read by any thread with <see cref="Volatile.Read(ref readonly long)"/>. Padded so that two workers'
/// counters never share a cache line even when the worker objects are allocated next to each other.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 320)]
internal struct WorkerCounters
{
    [FieldOffset(128)] public long Executed;
    [FieldOffset(136)] public long Stolen;
    [FieldOffset(144)] public long StealAttempts;
    [FieldOffset(152)] public long ParkedTicks;
    [FieldOffset(160)] public long Exceptions;
    [FieldOffset(168)] public long Parks;

    /// <summary>Owner-only increment; the release store pairs with the acquire loads in GetStatistics.</summary>
    public static void Add(ref long counter, long delta) => Volatile.Write(ref counter, counter + delta);
}

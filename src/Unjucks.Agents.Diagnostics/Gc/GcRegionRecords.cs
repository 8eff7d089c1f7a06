// Reads and writes the coordinated-GC records (GcPauseLayout) in a SharedRegion's state table, and the liveness
// test agents apply to the coordinator named in a request. No allocation on the read paths (stackalloc buffers).
using Unjucks.SharedMemory;

namespace Unjucks.Agents.Gc;

internal static class GcRegionRecords
{
    /// <summary>How often a waiter re-checks the other side's liveness (a probe opens a file; not per wake-up).</summary>
    internal static readonly TimeSpan LivenessInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Upper bound of one futex park while waiting, so deadlines and liveness are re-checked.</summary>
    internal static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(50);

    /// <summary>Throws if the region cannot hold the records.</summary>
    public static void CheckRegion(SharedRegion region, string paramName)
    {
        ArgumentNullException.ThrowIfNull(region, paramName);
        if (region.State.MaxValueBytes < GcPauseLayout.MaxRecordBytes)
        {
            throw new ArgumentException(
                $"Region '{region.Name}' stores values of at most {region.State.MaxValueBytes} bytes; coordinated GC needs {GcPauseLayout.MaxRecordBytes}. Create the region with SharedRegionOptions.MaxValueBytes >= {GcPauseLayout.MaxRecordBytes}.",
                paramName);
        }

        int longestKey = GcPauseLayout.AckKey(region.Agents.Capacity - 1).Length;
        if (region.State.MaxKeyBytes < longestKey)
        {
            throw new ArgumentException(
                $"Region '{region.Name}' has MaxKeyBytes {region.State.MaxKeyBytes}; coordinated GC needs keys of {longestKey} bytes. Create the region with a larger SharedRegionOptions.MaxKeyBytes.",
                paramName);
        }
    }

    /// <summary>Reads the request; false if there never was one (or it was deleted).</summary>
    public static bool TryReadRequest(SharedRegion region, out GcPauseRequest request, out long version)
    {
        Span<byte> buffer = stackalloc byte[GcPauseLayout.MaxRecordBytes];
        if (!region.State.TryRead(GcPauseLayout.RequestKey, buffer, out int length, out version))
        {
            request = default;
            return false;
        }

        request = GcPauseLayout.ReadRequest(buffer[..length]);
        return true;
    }

    /// <summary>Writes <paramref name="request"/> if the key's version is still <paramref name="expectedVersion"/> (0 = absent).</summary>
    public static bool TryWriteRequest(SharedRegion region, in GcPauseRequest request, long expectedVersion, out long newVersion)
    {
        Span<byte> buffer = stackalloc byte[GcPauseLayout.RequestBytes];
        GcPauseLayout.Write(buffer, request);
        return region.State.TryUpdate(GcPauseLayout.RequestKey, buffer, expectedVersion, out newVersion);
    }

    public static bool TryReadAck(SharedRegion region, string key, out GcPauseAck ack)
    {
        Span<byte> buffer = stackalloc byte[GcPauseLayout.MaxRecordBytes];
        if (!region.State.TryRead(key, buffer, out int length, out _))
        {
            ack = default;
            return false;
        }

        return GcPauseLayout.TryReadAck(buffer[..length], out ack);
    }

    public static void WriteAck(SharedRegion region, string key, in GcPauseAck ack)
    {
        Span<byte> buffer = stackalloc byte[GcPauseLayout.AckBytes];
        GcPauseLayout.Write(buffer, ack);
        region.State.Write(key, buffer);
    }

    /// <summary>True while the registration that wrote <paramref name="request"/> is still alive.</summary>
    public static bool IsCoordinatorAlive(SharedRegion region, in GcPauseRequest request)
    {
        if ((uint)request.CoordinatorSlot >= (uint)region.Agents.Capacity)
        {
            return false;
        }

        AgentInfo info = region.Agents.GetInfo(request.CoordinatorSlot);
        return info.State == AgentSlotState.Active
            && info.Generation == request.CoordinatorGeneration
            && info.ProcessId == request.CoordinatorPid
            && region.Agents.IsAlive(request.CoordinatorSlot);
    }

    /// <summary>True while <paramref name="slot"/> is registered by a live process with id <paramref name="pid"/>.</summary>
    public static bool IsAgentAlive(SharedRegion region, int slot, int pid)
    {
        if ((uint)slot >= (uint)region.Agents.Capacity)
        {
            return false;
        }

        return region.Agents.GetInfo(slot).ProcessId == pid && region.Agents.IsAlive(slot);
    }
}

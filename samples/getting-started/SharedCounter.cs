using System.Buffers.Binary;
using Unjucks.SharedMemory;

namespace Unjucks.Samples.GettingStarted;

internal static class SharedCounter
{
    private const int Increments = 1000;

    internal static string CountWithTwoProcesses()
    {
        string name = $"getting-started-{Environment.ProcessId}";
        try
        {
            // [state] A region is a file in /dev/shm/unjucks-<uid>/ (0600) that every process maps.
            using var region = SharedRegion.CreateOrOpen(name);
            long seen = region.ChangeSequence;
            using var child = Self.Start("counter", name);      // another process increments the same counter
            Increment(region, Increments);

            // Wait for the other process's writes: WaitForChange parks on a futex until the region changes.
            while (Read(region) < 2 * Increments)
            {
                region.WaitForChange(seen, TimeSpan.FromSeconds(5));
                seen = region.ChangeSequence;
            }
            // [/state]

            child.WaitForExit();
            return $"shared state: counter {Read(region)} after {Increments} increments in each of two processes";
        }
        finally
        {
            SharedRegion.Delete(name);
        }
    }

    internal static void CountInChild(string name)
    {
        using var region = SharedRegion.Open(name);
        Increment(region, Increments);
    }

    // [cas] Compare-and-swap on a versioned value: read it with its version, write only if nobody wrote since.
    private static void Increment(SharedRegion region, int times)
    {
        Span<byte> value = stackalloc byte[8];
        for (int i = 0; i < times; i++)
        {
            while (true)
            {
                long current = region.State.TryRead("counter", value, out _, out long version)
                    ? BinaryPrimitives.ReadInt64LittleEndian(value) : 0;
                BinaryPrimitives.WriteInt64LittleEndian(value, current + 1);
                if (region.State.TryUpdate("counter", value, expectedVersion: version, out _))
                {
                    break;   // a conflict means another process wrote first: read again and retry
                }
            }
        }
    }
    // [/cas]

    private static long Read(SharedRegion region)
    {
        Span<byte> value = stackalloc byte[8];
        return region.State.TryRead("counter", value, out _, out _) ? BinaryPrimitives.ReadInt64LittleEndian(value) : 0;
    }
}

using System.Buffers.Binary;
using Unjucks.SharedMemory;

namespace Unjucks.Samples.GettingStarted;

internal static class TwoProcessQueue
{
    private const int Messages = 10_000;

    internal static string SendToAnotherProcess()
    {
        string name = $"getting-started-queue-{Environment.ProcessId}";
        try
        {
            // [queue] The producer: bounded queues of fixed-size messages; Enqueue waits (bounded) when full.
            using var region = SharedRegion.CreateOrOpen(name, new SharedRegionOptions { QueueCapacity = 1024, MessageBytes = 64 });
            SharedMessageQueue queue = region.Queue("work");
            using var consumer = Self.Start("consumer", name);
            Span<byte> message = stackalloc byte[8];
            for (long i = 1; i <= Messages; i++)
            {
                BinaryPrimitives.WriteInt64LittleEndian(message, i);
                if (!queue.Enqueue(message, TimeSpan.FromSeconds(10)))
                {
                    throw new TimeoutException("the consumer took nothing for 10 s");
                }
            }

            queue.Enqueue([], TimeSpan.FromSeconds(10));   // an empty message: the end
            consumer.WaitForExit();
            // [/queue]
            return $"queue: the other process received {Messages} messages, exit code {consumer.ExitCode} (0: sum checked)";
        }
        finally
        {
            SharedRegion.Delete(name);
        }
    }

    // [consumer] The consumer, in another process: each message goes to exactly one consumer.
    internal static int ConsumeInChild(string name)
    {
        using var region = SharedRegion.Open(name);
        SharedMessageQueue queue = region.Queue("work");
        byte[] buffer = new byte[queue.MaxMessageBytes];
        long sum = 0;
        while (queue.Dequeue(buffer, out int length, TimeSpan.FromSeconds(10)) && length > 0)
        {
            sum += BinaryPrimitives.ReadInt64LittleEndian(buffer);
        }

        return sum == (long)Messages * (Messages + 1) / 2 ? 0 : 1;
    }
    // [/consumer]
}

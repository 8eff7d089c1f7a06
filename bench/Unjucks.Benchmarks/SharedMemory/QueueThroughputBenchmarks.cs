using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using Unjucks.SharedMemory;

namespace Unjucks.Benchmarks.SharedMemory;

/// <summary>
/// One producer thread, one consumer (the benchmark thread), 64-byte messages through a SharedMessageQueue.
/// Issue 3 target: at least 20 million messages per second (i.e. &lt;= 50 ns per message).
/// </summary>
[SupportedOSPlatform("linux")]
public class QueueThroughputBenchmarks
{
    private const int Messages = 100_000;
    private readonly byte[] _buffer = new byte[64];
    private BenchRegion _bench = null!;
    private SharedMessageQueue _queue = null!;

    [GlobalSetup]
    public void Setup()
    {
        _bench = new BenchRegion(new SharedRegionOptions { MessageBytes = 64, QueueCapacity = 4096, StateSlots = 16 });
        _queue = _bench.Region.Queue("throughput");
    }

    [GlobalCleanup]
    public void Cleanup() => _bench.Dispose();

    [Benchmark(OperationsPerInvoke = Messages)]
    public long OneProducerOneConsumer64B()
    {
        var producer = new Thread(() =>
        {
            var message = new byte[64];
            for (int i = 0; i < Messages; i++)
            {
                message[0] = (byte)i;
                while (!_queue.TryEnqueue(message))
                {
                    Thread.SpinWait(1);
                }
            }
        });
        producer.Start();
        long sum = 0;
        for (int received = 0; received < Messages;)
        {
            if (_queue.TryDequeue(_buffer, out int length))
            {
                sum += _buffer[0] + length;
                received++;
            }
            else
            {
                Thread.SpinWait(1);
            }
        }

        producer.Join();
        return sum;
    }
}

// One shape over the five queues compared, as structs: the workloads are generic over a struct
// constraint, so the JIT specialises and inlines each queue's calls (no interface dispatch in the loop).
using System.Collections.Concurrent;
using System.Threading.Channels;
using Unjucks.LockFree;

namespace Unjucks.Benchmarks.LockFree;

/// <summary>The queue operations the workloads use.</summary>
public interface IQueueAdapter
{
    /// <summary>Enqueues; false when a bounded queue is full.</summary>
    bool TryEnqueue(long item);

    /// <summary>Dequeues; false when empty.</summary>
    bool TryDequeue(out long item);
}

/// <summary>The queues being compared.</summary>
public enum QueueKind
{
    /// <summary><see cref="MpmcQueue{T}"/>.</summary>
    Mpmc,
    /// <summary><see cref="BoundedMpmcQueue{T}"/>.</summary>
    BoundedMpmc,
    /// <summary><see cref="ConcurrentQueue{T}"/>, the BCL peer.</summary>
    ConcurrentQueue,
    /// <summary><see cref="Channel.CreateUnbounded{T}()"/>, TryWrite/TryRead.</summary>
    UnboundedChannel,
    /// <summary><see cref="Channel.CreateBounded{T}(int)"/>, TryWrite/TryRead.</summary>
    BoundedChannel,
}

/// <summary><see cref="MpmcQueue{T}"/>.</summary>
public readonly struct MpmcAdapter(MpmcQueue<long> queue) : IQueueAdapter
{
    /// <inheritdoc/>
    public bool TryEnqueue(long item)
    {
        queue.Enqueue(item);
        return true;
    }

    /// <inheritdoc/>
    public bool TryDequeue(out long item) => queue.TryDequeue(out item);
}

/// <summary><see cref="BoundedMpmcQueue{T}"/>.</summary>
public readonly struct BoundedMpmcAdapter(BoundedMpmcQueue<long> queue) : IQueueAdapter
{
    /// <inheritdoc/>
    public bool TryEnqueue(long item) => queue.TryEnqueue(item);

    /// <inheritdoc/>
    public bool TryDequeue(out long item) => queue.TryDequeue(out item);
}

/// <summary><see cref="ConcurrentQueue{T}"/>.</summary>
public readonly struct ConcurrentQueueAdapter(ConcurrentQueue<long> queue) : IQueueAdapter
{
    /// <inheritdoc/>
    public bool TryEnqueue(long item)
    {
        queue.Enqueue(item);
        return true;
    }

    /// <inheritdoc/>
    public bool TryDequeue(out long item) => queue.TryDequeue(out item);
}

/// <summary>A <see cref="Channel{T}"/> used synchronously through TryWrite/TryRead.</summary>
public readonly struct ChannelAdapter(Channel<long> channel) : IQueueAdapter
{
    private readonly ChannelWriter<long> _writer = channel.Writer;
    private readonly ChannelReader<long> _reader = channel.Reader;

    /// <inheritdoc/>
    public bool TryEnqueue(long item) => _writer.TryWrite(item);

    /// <inheritdoc/>
    public bool TryDequeue(out long item) => _reader.TryRead(out item);
}

/// <summary>Builds a fresh queue of a kind and hands back a workload bound to its adapter.</summary>
public static class QueueFactory
{
    /// <summary>
    /// Creates a <paramref name="kind"/> queue (bounded ones with <paramref name="boundedCapacity"/> slots)
    /// and returns <paramref name="bind"/> applied to its adapter, so callers never switch on the kind in a
    /// measured loop.
    /// </summary>
    public static TResult Create<TResult>(QueueKind kind, int boundedCapacity, IQueueBinder<TResult> bind) => kind switch
    {
        QueueKind.Mpmc => bind.Bind(new MpmcAdapter(new MpmcQueue<long>())),
        QueueKind.BoundedMpmc => bind.Bind(new BoundedMpmcAdapter(new BoundedMpmcQueue<long>(boundedCapacity))),
        QueueKind.ConcurrentQueue => bind.Bind(new ConcurrentQueueAdapter(new ConcurrentQueue<long>())),
        QueueKind.UnboundedChannel => bind.Bind(new ChannelAdapter(Channel.CreateUnbounded<long>(
            new UnboundedChannelOptions { SingleReader = false, SingleWriter = false }))),
        QueueKind.BoundedChannel => bind.Bind(new ChannelAdapter(Channel.CreateBounded<long>(
            new BoundedChannelOptions(boundedCapacity)
            {
                SingleReader = false,
                SingleWriter = false,
                FullMode = BoundedChannelFullMode.Wait, // TryWrite returns false when full
            }))),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown queue kind."),
    };
}

/// <summary>Turns a concrete adapter into a workload (a generic method object, since C# has no generic lambdas).</summary>
public interface IQueueBinder<out TResult>
{
    /// <summary>Binds the workload to <paramref name="queue"/>.</summary>
    TResult Bind<TQueue>(TQueue queue)
        where TQueue : struct, IQueueAdapter;
}

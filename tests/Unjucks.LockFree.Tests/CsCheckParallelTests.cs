using System.Collections.Concurrent;
using CsCheck;

namespace Unjucks.LockFree.Tests;

/// <summary>
/// CsCheck's SampleParallel: random sequential prefixes, then random operations in parallel, and the final
/// state must equal the model's after some ordering of the parallel operations. CsCheck compares states,
/// not return values, so each subject records what its operations returned (items dequeued, items
/// refused) as part of its state. Complements the Wing-Gong tests, which check every return value.
/// </summary>
public class CsCheckParallelTests
{
    [Test]
    public void BoundedMpmcQueue_Capacity2_MatchesModel()
    {
        Gen.Const(() => (new BoundedSubject(2), new QueueModel(2)))
            .SampleParallel(
                Gen.Int[1, 1000].Operation<BoundedSubject, QueueModel>(i => $"TryEnqueue({i})", (s, i) => s.Enqueue(i), (m, i) => m.Enqueue(i)),
                Gen.Operation<BoundedSubject, QueueModel>("TryDequeue()", s => s.Dequeue(), m => m.Dequeue()),
                equal: (s, m) => s.Matches(m),
                iter: 300,
                threads: 2);
    }

    [Test]
    public void MpmcQueue_Segments2_MatchesModel()
    {
        Gen.Const(() => (new UnboundedSubject(2), new QueueModel(int.MaxValue)))
            .SampleParallel(
                Gen.Int[1, 1000].Operation<UnboundedSubject, QueueModel>(i => $"Enqueue({i})", (s, i) => s.Enqueue(i), (m, i) => m.Enqueue(i)),
                Gen.Operation<UnboundedSubject, QueueModel>("TryDequeue()", s => s.Dequeue(), m => m.Dequeue()),
                equal: (s, m) => s.Matches(m),
                iter: 300,
                threads: 2);
    }

    /// <summary>The sequential model: a queue plus what its operations returned.</summary>
    public sealed class QueueModel(int capacity)
    {
        public Queue<int> Items { get; } = new();
        public List<int> Dequeued { get; } = [];
        public List<int> Refused { get; } = [];

        public void Enqueue(int i)
        {
            if (Items.Count < capacity)
            {
                Items.Enqueue(i);
            }
            else
            {
                Refused.Add(i);
            }
        }

        public void Dequeue()
        {
            if (Items.TryDequeue(out int i))
            {
                Dequeued.Add(i);
            }
        }

        public override string ToString() => $"[{string.Join(",", Items)}] out [{string.Join(",", Dequeued)}] refused [{string.Join(",", Refused)}]";
    }

    public abstract class Subject
    {
        private readonly ConcurrentQueue<int> _dequeued = new();
        private readonly ConcurrentQueue<int> _refused = new();
        private List<int>? _remaining;

        protected void RecordDequeued(int i) => _dequeued.Enqueue(i);

        protected void RecordRefused(int i) => _refused.Enqueue(i);

        protected abstract bool TryTake(out int item);

        /// <summary>Compares with the model; drains the subject once (CsCheck compares one run with many
        /// orders, possibly from several threads at once, hence the lock).</summary>
        public bool Matches(QueueModel model)
        {
            List<int> remaining;
            lock (_dequeued)
            {
                if (_remaining is null)
                {
                    var drained = new List<int>();
                    while (TryTake(out int i))
                    {
                        drained.Add(i);
                    }

                    _remaining = drained;
                }

                remaining = _remaining;
            }

            return remaining.SequenceEqual(model.Items)
                && _dequeued.Order().SequenceEqual(model.Dequeued.Order())
                && _refused.Order().SequenceEqual(model.Refused.Order());
        }

        public override string ToString() =>
            $"out [{string.Join(",", _dequeued)}] refused [{string.Join(",", _refused)}] left [{string.Join(",", _remaining ?? [])}]";
    }

    public sealed class BoundedSubject(int capacity) : Subject
    {
        private readonly BoundedMpmcQueue<int> _queue = new(capacity);

        public void Enqueue(int i)
        {
            if (!_queue.TryEnqueue(i))
            {
                RecordRefused(i);
            }
        }

        public void Dequeue()
        {
            if (_queue.TryDequeue(out int i))
            {
                RecordDequeued(i);
            }
        }

        protected override bool TryTake(out int item) => _queue.TryDequeue(out item);
    }

    public sealed class UnboundedSubject(int segmentSize) : Subject
    {
        private readonly MpmcQueue<int> _queue = new(segmentSize);

        public void Enqueue(int i) => _queue.Enqueue(i);

        public void Dequeue()
        {
            if (_queue.TryDequeue(out int i))
            {
                RecordDequeued(i);
            }
        }

        protected override bool TryTake(out int item) => _queue.TryDequeue(out item);
    }
}

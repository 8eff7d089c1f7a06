using System.IO.MemoryMappedFiles;
using Unjucks.SharedMemory.Jobs;

namespace Unjucks.SharedMemory.Tests.Jobs;

/// <summary>
/// One owner pushes and pops while thieves steal single ids and batches (into their own deques, from which
/// they pop and from which other thieves steal again). Every id must be consumed exactly once.
/// </summary>
[TestFixture]
public unsafe class SharedTaskDequeStressTests
{
    private const int Items = 20_000;

    [Test]
    [Repeat(3)]
    public void Native_memory_every_id_exactly_once([Values(1, 2, 4, 16)] int thieves, [Values(4, 64)] int capacity)
    {
        int deques = thieves + 1;
        long stride = TaskDequeLayout.SizeOf(capacity);
        using var block = new NativeBlock(stride * deques);
        var bases = new nint[deques];
        for (int i = 0; i < deques; i++)
        {
            bases[i] = (nint)(block.Pointer + i * stride);
            TaskDequeLayout.Initialize((byte*)bases[i], capacity);
        }

        Run(bases, Items);
    }

    [Test]
    [Repeat(3)]
    public void Counters_crossing_2_pow_31_32_and_64_every_id_exactly_once([Values(int.MaxValue - 3000L, uint.MaxValue - 3000L, long.MaxValue - 3000)] long start)
    {
        const int thieves = 3;
        const int capacity = 16;
        long stride = TaskDequeLayout.SizeOf(capacity);
        using var block = new NativeBlock(stride * (thieves + 1));
        var bases = new nint[thieves + 1];
        for (int i = 0; i <= thieves; i++)
        {
            bases[i] = (nint)(block.Pointer + i * stride);
            TaskDequeLayout.InitializeAt((byte*)bases[i], capacity, start);
        }

        Run(bases, 8_000);
    }

    [Test]
    [Repeat(3)]
    public void Mapped_file_every_id_exactly_once([Values(2, 8)] int thieves)
    {
        // Two mappings of one file (owners use the first, stealers the second) must behave as one set of deques,
        // as they do across processes.
        const int capacity = 32;
        int deques = thieves + 1;
        long stride = TaskDequeLayout.SizeOf(capacity);
        string path = Path.Combine(Path.GetTempPath(), "unjucks-deque-tests-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var file = File.Create(path))
            {
                file.SetLength(stride * deques);
            }

            using var first = new MappedFile(path, stride * deques);
            using var second = new MappedFile(path, stride * deques);
            for (int i = 0; i < deques; i++)
            {
                TaskDequeLayout.Initialize(first.Pointer + (i * stride), capacity);
            }

            Run(
                deques,
                Items,
                i => new SharedTaskDeque(first.Pointer + (i * stride)),
                i => new SharedTaskStealer(second.Pointer + (i * stride)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void Run(nint[] bases, int items) =>
        Run(bases.Length, items, i => new SharedTaskDeque((byte*)bases[i]), i => new SharedTaskStealer((byte*)bases[i]));

    private static void Run(int deques, int items, Func<int, SharedTaskDeque> owner, Func<int, SharedTaskStealer> stealer)
    {
        int thieves = deques - 1;
        var seen = new int[items];
        int consumed = 0;
        int batchSteals = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var stealers = Enumerable.Range(0, deques).Select(stealer).ToArray();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // hang guard, not a duration assert.

        void Consume(long id)
        {
            if (id < 0 || id >= items)
            {
                failures.Enqueue($"consumed out-of-range id {id}");
                return;
            }

            Interlocked.Increment(ref seen[id]);
            Interlocked.Increment(ref consumed);
        }

        var threads = new List<Thread>();
        for (int k = 1; k <= thieves; k++)
        {
            int me = k;
            threads.Add(new Thread(() =>
            {
                var mine = owner(me);
                var rng = new Random(me * 7919);
                try
                {
                    while (Volatile.Read(ref consumed) < items && !cts.IsCancellationRequested)
                    {
                        int victim = rng.Next(4) == 0 ? rng.Next(deques) : 0;
                        if (victim == me)
                        {
                            victim = 0;
                        }

                        if (rng.Next(2) == 0)
                        {
                            if (stealers[victim].TrySteal(out long id))
                            {
                                Consume(id);
                            }
                        }
                        else
                        {
                            int n = stealers[victim].StealBatch(mine, 1 + rng.Next(40));
                            if (n > 0)
                            {
                                Interlocked.Increment(ref batchSteals);
                            }

                            // Keep part of the batch so that other thieves can steal it back from us.
                            int keep = rng.Next(3);
                            while (mine.Count > keep && mine.TryPop(out long id))
                            {
                                Consume(id);
                            }
                        }
                    }

                    while (mine.TryPop(out long id))
                    {
                        Consume(id);
                    }
                }
                catch (Exception e)
                {
                    failures.Enqueue($"thief {me}: {e}");
                }
            }) { IsBackground = true });
        }

        foreach (var t in threads)
        {
            t.Start();
        }

        var ownerDeque = owner(0);
        var ownerRng = new Random(42);
        long nextId = 0;
        while (nextId < items)
        {
            // Bursts of pushes, then bursts of pops: the deque keeps shrinking to a few items, where the owner's
            // pops and the thieves' batch claims meet (the window a one-CAS batch steal must get right).
            int pushes = 1 + ownerRng.Next(48);
            for (int i = 0; i < pushes && nextId < items; i++)
            {
                while (!ownerDeque.Push(nextId))
                {
                    // Full: consume one ourselves (the owner's normal behaviour) and retry.
                    if (ownerDeque.TryPop(out long popped))
                    {
                        Consume(popped);
                    }
                }

                nextId++;
            }

            int pops = ownerRng.Next(48);
            for (int i = 0; i < pops && ownerDeque.TryPop(out long p); i++)
            {
                Consume(p);
            }
        }

        while (ownerDeque.TryPop(out long id))
        {
            Consume(id);
        }

        // Thieves may still hold batches in their own deques; they drain them before exiting.
        foreach (var t in threads)
        {
            Assert.That(t.Join(TimeSpan.FromSeconds(60)), Is.True, "a thief hung");
        }

        // A thief can exit its loop on `consumed == items`; ids left in any deque would show up as a shortfall below.
        for (int i = 0; i < deques; i++)
        {
            while (stealers[i].TrySteal(out long id))
            {
                Consume(id);
            }
        }

        Assert.That(failures, Is.Empty);
        var wrong = Enumerable.Range(0, items).Where(i => seen[i] != 1).Take(10).Select(i => $"id {i} seen {seen[i]}x").ToList();
        Assert.That(wrong, Is.Empty, $"every id exactly once ({thieves} thieves, {batchSteals} batch steals)");
        Assert.That(consumed, Is.EqualTo(items));
    }

    /// <summary>One read-write mapping of a whole file, pointer acquired for the mapping's life.</summary>
    private sealed class MappedFile : IDisposable
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;

        public MappedFile(string path, long length)
        {
            _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, length, MemoryMappedFileAccess.ReadWrite);
            _view = _file.CreateViewAccessor(0, length, MemoryMappedFileAccess.ReadWrite);
            byte* pointer = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            Pointer = pointer + _view.PointerOffset;
        }

        public byte* Pointer { get; }

        public void Dispose()
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }
}

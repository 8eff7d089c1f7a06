// "fuzz <dir> <seed> <cases>": damaged regions, one per case. Each case creates a small region with a queue,
// state keys and a lock in use, closes it, damages its file (bit flips; words set to 0, -1, the extremes or
// random; random byte runs; truncation), opens it again and calls every public operation on it. Each call must
// return or throw a typed exception (SharedRegionFormatException, TimeoutException, SharedRegionFullException,
// SharedQueueCompletedException: a damaged EnqueuePos may read as completed)
// within the watchdog's 10 s; anything else is counted as untyped, a call past the watchdog ends the process
// (exit 4, "hang ..."), and a crash ends it too (the parent sees the last "case" line). Prints one summary line:
//   "fuzz cases N calls C ok O typed T untyped U slowest-ms S slowest <case>/<call>", "slow <call> <count>, ..." (calls
//   over 100 ms), then up to 10 "untyped ..." lines.
using System.Globalization;
using Unjucks.SharedMemory;

internal static class Fuzz
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMilliseconds(50); // a damaged "not ready" header waits this long

    internal static int Run(string directory, int seed, int cases)
    {
        var options = new SharedRegionOptions { Directory = directory, StateSlots = 16, QueueCapacity = 4, MaxQueues = 2, MaxAgents = 4, MaxLocks = 2, MessageBytes = 16 };
        var harness = new FuzzHarness(e => e is SharedRegionFormatException or TimeoutException or SharedRegionFullException or SharedQueueCompletedException);
        for (int c = 0; c < cases; c++)
        {
            var random = new Random(seed + c);
            string name = "fuzz-" + c.ToString(CultureInfo.InvariantCulture);
            Prepare(name, options);
            string path = Path.Combine(directory, name + ".region");
            Damage(path, random);
            Console.WriteLine($"case {c}");

            void Call(string what, Action action) => harness.Call(c, what, action);

            SharedRegion? region = null;
            Call("open", () => region = SharedRegion.Open(name, options, ReadyTimeout));
            if (region is not null)
            {
                var buffer = new byte[options.MessageBytes];
                var value = new byte[1024];
                Call("state.read", () => region.State.TryRead("a", value, out _, out _));
                Call("state.read-missing", () => region.State.TryRead("zz", value, out _, out _));
                Call("state.write", () => region.State.Write("a", [1, 2, 3]));
                Call("state.update", () => region.State.TryUpdate("b", [4], 1, out _));
                Call("state.delete", () => region.State.TryDelete("b", 0));
                Call("state.new-key", () => region.State.Write("c", [5]));
                Call("queue.try-enqueue", () => region.Queue("q").TryEnqueue([9]));
                Call("queue.try-dequeue", () => region.Queue("q").TryDequeue(buffer, out _));
                Call("queue.enqueue", () => region.Queue("q").Enqueue([8], TimeSpan.FromMilliseconds(20)));
                Call("queue.dequeue", () => region.Queue("q").Dequeue(buffer, out _, TimeSpan.FromMilliseconds(20)));
                Call("queue.enqueue-async", () => region.Queue("q").EnqueueAsync(new byte[] { 6 }, TimeSpan.FromMilliseconds(20)).AsTask().GetAwaiter().GetResult());
                Call("queue.dequeue-async", () => region.Queue("q").DequeueAsync(buffer.AsMemory(), TimeSpan.FromMilliseconds(20)).AsTask().GetAwaiter().GetResult());
                Call("queue.count", () => _ = region.Queue("q").Count);
                Call("queue.new", () => region.Queue("r").TryEnqueue([7]));
                Call("lock.try", () =>
                {
                    if (region.Lock("l").TryAcquire(out var handle))
                    {
                        handle.Dispose();
                    }
                });
                Call("lock.acquire", () => region.Lock("l").Acquire(TimeSpan.FromMilliseconds(20)).Dispose());
                Call("agents.register", () => region.Agents.Register());
                Call("agents.list", () => region.Agents.GetAgents());
                Call("agents.reclaim", () => region.Agents.ReclaimStale());
                Call("agents.heartbeat", () => region.Agents.Heartbeat());
                Call("inspect.queues", () => region.GetQueues());
                Call("inspect.locks", () => region.GetLocks());
                Call("inspect.creator", () => region.IsCreatorAlive());
                Call("wait-change", () => region.WaitForChange(region.ChangeSequence, TimeSpan.FromMilliseconds(1)));
                Call("wait-change-async", () => region.WaitForChangeAsync(region.ChangeSequence, TimeSpan.FromMilliseconds(1)).AsTask().GetAwaiter().GetResult());
                Call("queue.complete", () => region.Queue("q").Complete());
                Call("dispose", () => region.Dispose());
            }

            Call("delete", () => SharedRegion.Delete(name, options));
            if (File.Exists(path))
            {
                File.Delete(path);
            }
        }

        harness.Report("fuzz", cases);
        return 0;
    }

    /// <summary>A region in use: two messages queued, two keys, the lock taken and released, this agent registered.</summary>
    private static void Prepare(string name, SharedRegionOptions options)
    {
        using var region = SharedRegion.CreateOrOpen(name, options);
        region.Agents.Register();
        region.Queue("q").TryEnqueue([1]);
        region.Queue("q").TryEnqueue([2, 2]);
        region.State.Write("a", [1]);
        region.State.Write("b", [2, 2]);
        region.Lock("l").Acquire(TimeSpan.FromSeconds(5)).Dispose();
    }

    internal static void Damage(string path, Random random)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        long length = file.Length;
        int damages = random.Next(1, 9);
        Span<byte> bytes = stackalloc byte[8];
        for (int d = 0; d < damages; d++)
        {
            int kind = random.Next(10);
            if (kind == 9 && length > 8)
            {
                file.SetLength(random.NextInt64(0, length)); // truncation: the opener must refuse, not fault
                length = file.Length;
                continue;
            }

            // Most damage lands in the first pages, where headers, directories, queues and slots live.
            long offset = random.Next(4) == 0 ? random.NextInt64(0, Math.Max(1, length)) : random.NextInt64(0, Math.Min(length, 16384));
            file.Position = offset & ~7L;
            int read = file.Read(bytes);
            if (read < 8)
            {
                continue;
            }

            long word = BitConverter.ToInt64(bytes);
            word = kind switch
            {
                0 or 1 or 2 => word ^ (1L << random.Next(64)),
                3 => 0,
                4 => -1,
                5 => long.MaxValue,
                6 => long.MinValue,
                7 => random.NextInt64(),
                _ => word + random.Next(-3, 4),
            };
            BitConverter.TryWriteBytes(bytes, word);
            file.Position = offset & ~7L;
            file.Write(bytes);
            if (kind == 8)
            {
                var run = new byte[random.Next(16, 257)];
                random.NextBytes(run);
                file.Position = Math.Max(0, Math.Min(offset, length - run.Length));
                file.Write(run, 0, (int)Math.Min(run.Length, length));
            }
        }
    }
}

// Test op 'X': a task whose cost depends on how many tasks run at once, across every agent process, so that the best
// agent count is known. Payload after 'X': int32 base milliseconds, one mode byte, then the UTF-8 path of an 8-byte
// counter file that all agents map. k = tasks running now, this one included (an atomic increment on the mapped
// counter, decremented when it ends). Mode 'R' (rising): sleeps base * k * k, so throughput k / (base k^2) is best at
// one agent. Mode 'F' (falling): sleeps 2 * base / (k + 1), so throughput k (k + 1) / (2 base) grows with every agent.
// Returns "<k> <agent index>".
using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text;
using Unjucks.Agents;

internal static class ConcurrencyCostOp
{
    private static readonly Dictionary<string, (MemoryMappedFile File, MemoryMappedViewAccessor View)> Counters = [];

    public static unsafe ReadOnlyMemory<byte> Run(AgentTask task, ReadOnlyMemory<byte> rest)
    {
        int baseMs = BinaryPrimitives.ReadInt32LittleEndian(rest.Span);
        char mode = (char)rest.Span[4];
        string path = Encoding.UTF8.GetString(rest.Span[5..]);
        var view = Counter(path);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        try
        {
            ref long running = ref *(long*)(p + view.PointerOffset); // SAFETY: the view maps the file's 8 bytes.
            long k = Interlocked.Increment(ref running); // full fence; the count of tasks running in any agent process.
            try
            {
                double ms = mode == 'R' ? baseMs * k * k : 2.0 * baseMs / (k + 1);
                Thread.Sleep(TimeSpan.FromMilliseconds(ms));
            }
            finally
            {
                Interlocked.Decrement(ref running); // full fence; this task no longer runs.
            }

            return Encoding.UTF8.GetBytes($"{k} {task.AgentIndex}");
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }

    private static MemoryMappedViewAccessor Counter(string path)
    {
        lock (Counters)
        {
            if (!Counters.TryGetValue(path, out var counter))
            {
                var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 8, MemoryMappedFileAccess.ReadWrite);
                counter = (file, file.CreateViewAccessor(0, 8));
                Counters[path] = counter;
            }

            return counter.View;
        }
    }
}

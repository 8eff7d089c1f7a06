// "job" mode of the test agent: one agent process of a job segment (Unjucks.SharedMemory.Jobs), used by the
// cross-process tests in tests/Unjucks.SharedMemory.Tests/Jobs. Loop: move ids from the inbox into the own
// deque; pop, lease, run (about 20 µs; result = id * 31 + 7), commit; when dry, batch-steal from the most loaded agent.
// Prints "ready <pid>" once attached and "done <commits> <steals> <stolenIds>" when the job is complete or
// stdin says "exit". Stdin closing (parent died) ends the process.
using System.Globalization;
using Unjucks.SharedMemory.Jobs;

internal static class JobWorker
{
    public static long ResultOf(long id) => (id * 31) + 7;

    /// <summary>About 20 µs of busy work per task, so that a skewed placement leaves work for thieves.</summary>
    private static void Work()
    {
        long until = System.Diagnostics.Stopwatch.GetTimestamp() + (System.Diagnostics.Stopwatch.Frequency / 50_000);
        while (System.Diagnostics.Stopwatch.GetTimestamp() < until)
        {
        }
    }

    public static int Run(string directory, string jobName, int agent)
    {
        using var segment = JobSegment.Open(directory, jobName, TimeSpan.FromSeconds(10));
        var own = segment.Deque(agent);
        var inbox = segment.Inbox(agent);
        var table = segment.Tasks;
        var stealers = Enumerable.Range(0, segment.AgentCount).Select(segment.Stealer).ToArray();
        int stop = 0;
        var stdin = new Thread(() =>
        {
            while (Console.In.ReadLine() is { } line && line.Trim() != "exit")
            {
            }

            Volatile.Write(ref stop, 1); // "exit" or EOF.
        }) { IsBackground = true };
        stdin.Start();
        Console.Out.WriteLine(FormattableString.Invariant($"ready {Environment.ProcessId}"));
        Console.Out.Flush();

        long commits = 0, steals = 0, stolenIds = 0;
        int idleRounds = 0;
        while (Volatile.Read(ref stop) == 0)
        {
            while (own.Count < own.Capacity && inbox.TryDequeue(out long placed))
            {
                own.Push(placed); // room checked above; only this thread pushes.
            }

            if (own.TryPop(out long id))
            {
                idleRounds = 0;
                // Lease right after the pop, before any other push (the deque's failure-window contract).
                if (table.TryLease(id, agent, out long epoch))
                {
                    Work();
                    if (table.TryCommit(id, agent, epoch, ResultOf(id)))
                    {
                        commits++;
                    }
                }

                continue;
            }

            int victim = -1, most = 0;
            for (int j = 0; j < stealers.Length; j++)
            {
                int c = j == agent ? 0 : stealers[j].Count;
                if (c > most)
                {
                    (victim, most) = (j, c);
                }
            }

            if (victim >= 0)
            {
                int n = stealers[victim].StealBatch(own, TaskDequeLayout.MaxStealBatch);
                if (n > 0)
                {
                    steals++;
                    stolenIds += n;
                    continue;
                }
            }

            if (++idleRounds % 64 == 0 && table.CountDone() == table.Capacity)
            {
                break;
            }

            Thread.Sleep(idleRounds < 64 ? 0 : 1);
        }

        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done {commits} {steals} {stolenIds}"));
        Console.Out.Flush();
        return 0;
    }
}

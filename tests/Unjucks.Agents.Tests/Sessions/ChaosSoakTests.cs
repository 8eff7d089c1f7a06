using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Unjucks.TestSupport;

namespace Unjucks.Agents.Tests.Sessions;

/// <summary>
/// The chaos soak: agent sessions of real processes while random agents are killed with SIGKILL (and some stopped
/// with SIGSTOP, then continued) at random moments. After every job: every task's result is its exact payload,
/// the session committed each task once, nothing is left in the session folder, and no killed agent left runtime
/// files in /tmp. CI runs 50 kills; <c>UNJUCKS_SOAK_KILLS=1000</c> runs the full soak (figures in
/// docs/performance.md). Hang guards only; the figures are printed, not asserted.
/// </summary>
[NonParallelizable]
public sealed class ChaosSoakTests : SessionTestBase
{
    private const int Agents = 4;
    private const int TasksPerJob = 300;
    private const int KillsPerJob = 10;

    [Test]
    public async Task Agents_killed_and_stopped_at_random_lose_and_duplicate_nothing_and_leave_nothing()
    {
        int kills = int.TryParse(Environment.GetEnvironmentVariable("UNJUCKS_SOAK_KILLS"), CultureInfo.InvariantCulture, out int k) ? k : 50;
        var random = new Random(20261203);
        var totals = new Totals();
        var stopwatch = Stopwatch.StartNew();
        while (totals.Kills < kills)
        {
            await RunJobAsync(random, Math.Min(KillsPerJob, kills - totals.Kills), totals);
        }

        string figures = string.Create(CultureInfo.InvariantCulture,
            $"soak: {totals.Kills} kills and {totals.Stops} stops in {totals.Jobs} jobs of {TasksPerJob} tasks on {Agents} agents ({totals.Tasks} tasks): lost {totals.Lost}, committed twice {totals.Duplicated}, failed {totals.Failed}, files left {totals.FilesLeft}, recovery p50 {Percentile(totals.Recoveries, 50):F0} ms, p99 {Percentile(totals.Recoveries, 99):F0} ms, longest {totals.Recoveries.DefaultIfEmpty(0).Max():F0} ms, in {stopwatch.Elapsed.TotalSeconds:F0} s");
        TestContext.Out.WriteLine(figures);
        Console.WriteLine(figures);
        Assert.Multiple(() =>
        {
            Assert.That(totals.Lost, Is.Zero, "tasks whose result is missing or wrong");
            Assert.That(totals.Duplicated, Is.Zero, "tasks committed more than once");
            Assert.That(totals.Failed, Is.Zero, "tasks that failed (MaxAttempts is far above the kills one task can see)");
            Assert.That(totals.FilesLeft, Is.Zero, "files left in the session folder or /tmp");
        });
    }

    private async Task RunJobAsync(Random random, int kills, Totals totals)
    {
        var ct = Guard(300);
        var options = Options(Agents);
        var soak = new AgentSessionOptions
        {
            Agents = Agents,
            Directory = options.Directory,
            AgentProcess = options.AgentProcess,
            MaxAttempts = 50,
            MaxRestartsPerMinute = 10_000,
            StallTimeout = TimeSpan.FromMilliseconds(500),
        };
        var killed = new ConcurrentBag<int>();
        var stopped = new ConcurrentDictionary<int, byte>();
        AgentSessionSummary summary;
        var handles = new AgentTaskHandle[TasksPerJob];
        await using (var session = await AgentSession.StartAsync(soak, ct))
        {
            using var done = new CancellationTokenSource();
            var chaos = Task.Run(() => ChaosAsync(session, random, kills, killed, stopped, totals, done.Token), ct);
            for (int i = 0; i < TasksPerJob; i++)
            {
                handles[i] = await session.SubmitAsync(Payload(i, sleepMs: i % 3 == 0 ? 5 : 0), cancellationToken: ct);
            }

            // Keep the chaos going until its kills are spent, then let the job finish.
            await chaos;
            summary = await session.CompleteAsync(ct);
            foreach (int pid in stopped.Keys)
            {
                TrySignal(pid, Signals.SIGCONT);
            }

            await done.CancelAsync();
        }

        totals.Jobs++;
        totals.Tasks += TasksPerJob;
        for (int i = 0; i < TasksPerJob; i++)
        {
            if (!handles[i].Result.IsCompletedSuccessfully)
            {
                totals.Failed += handles[i].Result.IsFaulted ? 1 : 0;
                totals.Lost += handles[i].Result.IsFaulted ? 0 : 1;
                continue;
            }

            var result = handles[i].Result.Result.Span;
            if (result.Length != 4 || BinaryPrimitives.ReadInt32LittleEndian(result) != i)
            {
                totals.Lost++;
            }
        }

        totals.Duplicated += Math.Max(0, summary.Completed - TasksPerJob);
        totals.FilesLeft += Directory.EnumerateFileSystemEntries(Dir).Count();
        foreach (int pid in killed)
        {
            totals.FilesLeft += Directory.EnumerateFileSystemEntries(Path.GetTempPath(), $"*-{pid}-*").Count(p =>
                Path.GetFileName(p).StartsWith("clr-debug-pipe-", StringComparison.Ordinal) || Path.GetFileName(p).StartsWith("dotnet-diagnostic-", StringComparison.Ordinal));
        }
    }

    /// <summary>Kills (or stops, then continues) random agents every 5 to 60 ms until <paramref name="kills"/> kills are
    /// done, and measures each kill's recovery: until its slot shows a new process.</summary>
    private static async Task ChaosAsync(AgentSession session, Random random, int kills, ConcurrentBag<int> killed,
        ConcurrentDictionary<int, byte> stopped, Totals totals, CancellationToken done)
    {
        var recoveries = new List<Task>();
        int dealt = 0;
        while (dealt < kills && !done.IsCancellationRequested)
        {
            await Task.Delay(random.Next(5, 60), CancellationToken.None);
            int slot = random.Next(Agents);
            int pid = session.AgentProcessIds[slot];
            if (pid == 0 || stopped.ContainsKey(pid))
            {
                continue;
            }

            if (random.Next(100) < 15)
            {
                if (TrySignal(pid, Signals.SIGSTOP))
                {
                    stopped[pid] = 0;
                    Interlocked.Increment(ref totals.Stops);
                    int pause = random.Next(300, 1500);
                    _ = Task.Run(async () =>
                    {
                        await Task.Delay(pause, CancellationToken.None);
                        if (stopped.TryRemove(pid, out _))
                        {
                            TrySignal(pid, Signals.SIGCONT);
                        }
                    }, CancellationToken.None);
                }

                continue;
            }

            long start = Stopwatch.GetTimestamp();
            if (!TrySignal(pid, 9))
            {
                continue;
            }

            killed.Add(pid);
            dealt++;
            Interlocked.Increment(ref totals.Kills);
            recoveries.Add(Task.Run(async () =>
            {
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (DateTime.UtcNow < deadline)
                {
                    int now = session.AgentProcessIds[slot];
                    if (now != 0 && now != pid)
                    {
                        lock (totals.Recoveries)
                        {
                            totals.Recoveries.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                        }

                        return;
                    }

                    await Task.Delay(2, CancellationToken.None);
                }
            }, CancellationToken.None));
        }

        await Task.WhenAll(recoveries);
    }

    private static bool TrySignal(int pid, int signal)
    {
        try
        {
            Signals.Send(pid, signal);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false; // it exited meanwhile
        }
    }

    /// <summary>'W': the test agent sleeps, then echoes the id (SleepOp's layout with the id after it).</summary>
    private static byte[] Payload(int id, int sleepMs)
    {
        byte[] p = [.. SleepOp(sleepMs), 0, 0, 0, 0];
        p[0] = (byte)'W';
        BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(5), id);
        return p;
    }

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    private sealed class Totals
    {
        public int Kills;
        public int Stops;
        public int Jobs;
        public long Tasks;
        public long Lost;
        public long Duplicated;
        public long Failed;
        public long FilesLeft;
        public readonly List<double> Recoveries = [];
    }
}

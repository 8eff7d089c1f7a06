namespace Unjucks.LockFree.Tests;

/// <summary>Starts threads together and joins them with a hang guard that fails the test with a message.</summary>
internal static class Concurrent
{
    /// <summary>Generous: a hang guard for 2 oversubscribed cores, never a speed assertion.</summary>
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    public static void Run(string what, params Action[] bodies)
    {
        var errors = new List<Exception>();
        using var start = new Barrier(bodies.Length);
        var threads = new Thread[bodies.Length];
        for (int i = 0; i < bodies.Length; i++)
        {
            Action body = bodies[i];
            threads[i] = new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    body();
                }
                catch (Exception e)
                {
                    lock (errors)
                    {
                        errors.Add(e);
                    }
                }
            })
            { IsBackground = true, Name = $"{what} #{i}" };
        }

        foreach (Thread t in threads)
        {
            t.Start();
        }

        DateTime deadline = DateTime.UtcNow + HangGuard;
        foreach (Thread t in threads)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left < TimeSpan.Zero || !t.Join(left))
            {
                Assert.Fail($"{what}: thread '{t.Name}' did not finish within {HangGuard.TotalSeconds} s (hang guard): lost item, livelock or deadlock.");
            }
        }

        if (errors.Count > 0)
        {
            throw new AggregateException($"{what}: {errors.Count} thread(s) threw", errors);
        }
    }

    /// <summary>Spins (SpinWait) until <paramref name="condition"/> holds, failing after the hang guard.</summary>
    public static void SpinUntil(Func<bool> condition, string what)
    {
        if (!SpinWait.SpinUntil(condition, HangGuard))
        {
            throw new TimeoutException($"{what}: condition not reached within {HangGuard.TotalSeconds} s (hang guard).");
        }
    }
}

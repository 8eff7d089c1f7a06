using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Unjucks.Benchmarks.Agents;

/// <summary>A calibrated busy loop standing in for a work item of a given length.</summary>
internal static class SpinWork
{
    private static double s_iterationsPerNanosecond;

    /// <summary>Measures the loop once per process (about 20 ms).</summary>
    public static void Calibrate()
    {
        if (s_iterationsPerNanosecond > 0)
        {
            return;
        }

        Run(100_000); // warm up
        const int iterations = 2_000_000;
        long best = long.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            long t = Stopwatch.GetTimestamp();
            Run(iterations);
            best = Math.Min(best, Stopwatch.GetTimestamp() - t);
        }

        double ns = best * 1e9 / Stopwatch.Frequency;
        s_iterationsPerNanosecond = iterations / Math.Max(ns, 1);
    }

    /// <summary>Loop iterations that take about <paramref name="nanoseconds"/>.</summary>
    public static int IterationsFor(int nanoseconds) => Math.Max(1, (int)(nanoseconds * s_iterationsPerNanosecond));

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int Run(int iterations)
    {
        int x = 17;
        for (int i = 0; i < iterations; i++)
        {
            x = x * 31 + i;
        }

        return x;
    }
}

namespace Unjucks.Benchmarks.Harness;

/// <summary>
/// Cheap per-invocation accounting checks, so that a benchmark of a broken structure fails loudly (the CI
/// dry run executes each benchmark once) instead of reporting a fast wrong number.
/// </summary>
public static class Check
{
    /// <summary>Sum of the per-worker tallies.</summary>
    public static long Sum(PaddedLong[] tallies)
    {
        long sum = 0;
        foreach (var t in tallies)
        {
            sum += t.Value;
        }

        return sum;
    }

    /// <summary>Throws when <paramref name="actual"/> differs from <paramref name="expected"/>.</summary>
    public static void Equal(long expected, long actual, string what)
    {
        if (expected != actual)
        {
            throw new InvalidOperationException(
                $"{what}: expected {expected}, got {actual} (difference {actual - expected}). " +
                "The structure under test lost or invented items; run its stress tests.");
        }
    }

    /// <summary>Sum of 0 + 1 + ... + (n - 1).</summary>
    public static long Triangle(long n) => n * (n - 1) / 2;
}

namespace Unjucks.Benchmarks.Harness;

/// <summary>
/// The thread counts a benchmark runs at: 1, 2, 4, 8, 16 by default, or the comma-separated list in
/// <c>UNJUCKS_BENCH_THREADS</c> (for example <c>1,2</c> on a 2-core machine, where the issue asks for the
/// ratios at 1 and 2 threads). BenchmarkDotNet's child processes inherit the variable, so it works with
/// every toolchain. Counts a benchmark cannot use (odd counts for the producer/consumer split) are dropped.
/// </summary>
public static class ThreadCounts
{
    /// <summary>Environment variable holding the thread counts, comma-separated.</summary>
    public const string Variable = "UNJUCKS_BENCH_THREADS";

    private static readonly int[] Defaults = [1, 2, 4, 8, 16];

    /// <summary>The counts for benchmarks that take any power of two.</summary>
    public static IEnumerable<int> Any() => Select(static _ => true);

    /// <summary>The counts for the producer/consumer split (even, at least 2).</summary>
    public static IEnumerable<int> Even() => Select(static n => n >= 2 && n % 2 == 0);

    private static int[] Select(Func<int, bool> usable)
    {
        string? text = Environment.GetEnvironmentVariable(Variable);
        int[] wanted = string.IsNullOrWhiteSpace(text) ? Defaults : Parse(text);
        int[] chosen = wanted.Where(usable).Distinct().Order().ToArray();
        // Nothing usable (UNJUCKS_BENCH_THREADS=1 for an even-only benchmark): its smallest default count.
        return chosen.Length > 0 ? chosen : [Defaults.Where(usable).Min()];
    }

    private static int[] Parse(string text)
    {
        var counts = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, out int n) || n < 1 || n > 1024 || (n & (n - 1)) != 0)
            {
                throw new ArgumentException(
                    $"{Variable}='{text}': '{part}' is not a power of two between 1 and 1024. " +
                    "Give a comma-separated list such as 1,2,4.");
            }

            counts.Add(n);
        }

        return [.. counts];
    }
}

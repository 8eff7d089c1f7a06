using BenchmarkDotNet.Reports;

namespace Unjucks.Benchmarks;

/// <summary>
/// Turns BenchmarkDotNet's summaries into an exit code: 1 when a benchmark failed (threw, did not build,
/// failed validation, produced no measurement) or when a <c>--filter</c> run executed nothing (a filter that
/// matches nothing, or arguments BenchmarkDotNet rejected, which it only prints).
/// </summary>
internal static class ExitCode
{
    public static int For(string[] args, Summary[] summaries)
    {
        var problems = new List<string>();
        foreach (var summary in summaries)
        {
            if (summary.HasCriticalValidationErrors)
            {
                problems.Add($"{summary.Title}: critical validation errors");
            }

            foreach (var report in summary.Reports)
            {
                if (!report.Success)
                {
                    problems.Add($"{report.BenchmarkCase.DisplayInfo}: failed (see the log above)");
                }
            }
        }

        bool filtered = args.Any(a => a is "--filter" or "-f");
        if (filtered && summaries.Sum(s => s.Reports.Length) == 0)
        {
            problems.Add("no benchmark ran: the filter matched nothing or BenchmarkDotNet rejected an argument (see above)");
        }

        foreach (var problem in problems)
        {
            Console.Error.WriteLine($"Unjucks.Benchmarks: {problem}");
        }

        return problems.Count == 0 ? 0 : 1;
    }
}

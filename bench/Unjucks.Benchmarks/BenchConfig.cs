using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Order;

namespace Unjucks.Benchmarks;

/// <summary>
/// Columns and diagnosers shared by the benchmarks. Deliberately sets NO job: the job comes from the
/// command line (<c>--job Dry</c> in CI, <c>--job short</c> in bench/run-lockfree.sh, the default job for a
/// full run), and a job set here would run in addition to it.
/// </summary>
public sealed class BenchConfig : ManualConfig
{
    /// <summary>Memory diagnoser (allocations per operation; the target is ~0), Op/s, declared order.</summary>
    public BenchConfig()
    {
        // Allocated bytes are read with GC.GetTotalAllocatedBytes, so the worker threads' garbage counts too.
        AddDiagnoser(MemoryDiagnoser.Default);
        // Mean is per operation (OperationsPerInvoke), so Op/s is the aggregate throughput of all threads.
        AddColumn(StatisticColumn.OperationsPerSecond);
        WithOrderer(new DefaultOrderer(SummaryOrderPolicy.Declared, MethodOrderPolicy.Declared));
    }
}

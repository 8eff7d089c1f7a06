using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using Unjucks.Agents;
using Unjucks.Benchmarks.Harness;

namespace Unjucks.Benchmarks.Sessions;

/// <summary>
/// Trivial tasks through the public API of <see cref="AgentSession"/> (issue 10 target: at least 1 M tasks/s on 2
/// cores and no slower than the job engine, JobThroughputBenchmarks, in the same run; 1 M tasks/s at 16 agents on 16
/// cores): 64-byte payloads, 64-byte results (the agent echoes), default MaxTasksInFlight, every result checked.
/// Op/s is tasks per second from the first submit to the last result. Agent counts: UNJUCKS_BENCH_THREADS.
/// </summary>
[SupportedOSPlatform("linux")]
[Config(typeof(BenchConfig))]
public class SessionThroughputBenchmarks
{
    private const int Tasks = 20_000;
    private readonly AgentTaskHandle[] _handles = new AgentTaskHandle[Tasks];
    private readonly byte[][] _payloads = new byte[Tasks][];
    private BenchAgentSession _session = null!;

    /// <summary>Agent processes.</summary>
    [ParamsSource(typeof(ThreadCounts), nameof(ThreadCounts.Any))]
    public int Agents { get; set; }

    /// <summary>MaxTasksInFlight: 0 is the default (16 per agent, at least 256); 32 is the old default at 2 agents
    /// (16 per agent, no floor), kept to show what the window costs.</summary>
    [Params(0, 32)]
    public int Window { get; set; }

    /// <summary>Starts the agents once; builds the payloads (task i's holds i).</summary>
    [GlobalSetup]
    public void Setup()
    {
        for (int i = 0; i < Tasks; i++)
        {
            _payloads[i] = new byte[64];
            BitConverter.TryWriteBytes(_payloads[i], i);
        }

        _session = BenchAgentSession.Start(Agents, Window);
    }

    /// <summary>Prints the pickup percentiles and stops the agents.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine(_session.DescribePickup($"session throughput agents={Agents} window={Window}"));
        _session.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>20,000 tasks submitted as fast as the window allows, then every result awaited and checked.</summary>
    /// <returns>The sum of the results' first words, to keep them alive.</returns>
    [Benchmark(OperationsPerInvoke = Tasks)]
    public async Task<long> TrivialTasks()
    {
        AgentSession session = _session.Session;
        for (int i = 0; i < Tasks; i++)
        {
            _handles[i] = await session.SubmitAsync(_payloads[i]).ConfigureAwait(false);
        }

        long sum = 0;
        for (int i = 0; i < Tasks; i++)
        {
            ReadOnlyMemory<byte> result = await _handles[i].Result.ConfigureAwait(false);
            Check.Equal(i, result.Length == 64 ? BitConverter.ToInt32(result.Span) : -1, "session echo result");
            sum += i;
        }

        return sum;
    }
}

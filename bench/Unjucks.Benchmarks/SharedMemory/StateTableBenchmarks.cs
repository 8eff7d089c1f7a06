using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using Unjucks.SharedMemory;

namespace Unjucks.Benchmarks.SharedMemory;

/// <summary>Background load from other processes while this one reads and updates.</summary>
public enum StateLoad
{
    /// <summary>This process alone.</summary>
    None,

    /// <summary>Two other processes write their own keys.</summary>
    DistinctKeys,

    /// <summary>Two other processes write the key this process uses.</summary>
    SharedKey,
}

/// <summary>SharedStateTable read and update; issue 3 targets: uncontended read &lt;= 30 ns, update &lt;= 60 ns.</summary>
[SupportedOSPlatform("linux")]
[MemoryDiagnoser]
public class StateTableBenchmarks
{
    private readonly byte[] _value = new byte[8];
    private readonly byte[] _buffer = new byte[256];
    private BenchRegion _bench = null!;
    private SharedStateTable _state = null!;
    private long _version;

    [Params(StateLoad.None, StateLoad.DistinctKeys, StateLoad.SharedKey)]
    public StateLoad Load { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _bench = new BenchRegion();
        _state = _bench.Region.State;
        _version = _state.Write("bench-key", _value);
        if (Load != StateLoad.None)
        {
            for (int i = 0; i < 2; i++)
            {
                _bench.StartRegionAgent("write-loop", Load == StateLoad.SharedKey ? "bench-key" : "other-" + i);
            }

            // Wait until the writers are running, so the measurement sees their load.
            long seen = _bench.Region.ChangeSequence;
            var until = DateTime.UtcNow.AddSeconds(10);
            while (_bench.Region.ChangeSequence - seen < 100 && DateTime.UtcNow < until)
            {
                Thread.Sleep(10);
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _bench.Dispose();

    [Benchmark]
    public bool Read() => _state.TryRead("bench-key", _buffer, out _, out _);

    [Benchmark]
    public long Write() => _state.Write("bench-key", _value);

    [Benchmark]
    public bool TryUpdate()
    {
        if (_state.TryUpdate("bench-key", _value, _version, out long next))
        {
            _version = next;
            return true;
        }

        _version = next; // conflict (another process wrote): next is the current version
        return false;
    }
}

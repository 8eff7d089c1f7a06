using System.Runtime.InteropServices;

namespace Unjucks.Benchmarks.Harness;

/// <summary>
/// A long alone on its cache line: 128 bytes of padding on each side (x86's adjacent-line prefetcher pulls
/// lines in pairs, so 64 is not enough). Used for the shared fetch-and-add counter and for per-worker
/// tallies, so that the benchmarks measure the structure under test and not false sharing in the harness.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
public struct PaddedLong
{
    /// <summary>The value, at offset 128.</summary>
    [FieldOffset(128)]
    public long Value;
}

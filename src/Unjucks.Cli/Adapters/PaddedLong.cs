using System.Runtime.InteropServices;

namespace Unjucks.Cli.Adapters;

/// <summary>
/// A long on its own cache lines: 128 bytes of padding on each side, so that counters written by different
/// worker threads never share a line (x86's adjacent-line prefetcher pulls pairs of 64-byte lines).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct PaddedLong
{
    /// <summary>The value, 128 bytes from the start and 120 bytes from the end of the struct.</summary>
    [FieldOffset(128)]
    public long Value;
}

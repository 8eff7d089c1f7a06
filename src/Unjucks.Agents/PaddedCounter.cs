// One 128-byte padding type for this assembly (crossbeam's CachePadded, dotnet's PaddedHeadAndTail): a
// counter that two threads write sits alone on its cache line pair, 128 bytes from anything else, which
// defeats false sharing and the adjacent-line prefetcher on x86.
using System.Runtime.InteropServices;

namespace Unjucks.Agents;

[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct PaddedCounter
{
    /// <summary>The value, 128 bytes from the start and 120 bytes from the end of the struct.</summary>
    [FieldOffset(128)]
    public long Value;
}

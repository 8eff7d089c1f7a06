// The one padding type of Unjucks.LockFree (and of the layers above it that need in-process padding).
//
// Why 256 bytes with the value at offset 128, not a 128-byte struct: x86 prefetches cache lines in adjacent
// pairs, so two hot values must not share an aligned 128-byte block. crossbeam's CachePadded gets that by
// aligning to 128; the CLR cannot align a field beyond 8 bytes, so the only way to guarantee a private
// 128-byte block for an 8-byte-aligned value is at least 120 bytes of cold padding on each side. The value
// sits at offset 128 (128 bytes before it, 120 after), the same idea as dotnet/runtime's PaddedHeadAndTail,
// which pads head and tail by a full 128 bytes each for the same reason.
using System.Runtime.InteropServices;

namespace Unjucks.LockFree;

/// <summary>
/// A 64-bit value that no other field shares a 128-byte block with, whatever the 8-byte alignment of the
/// object holding it. Use one per hot field that a different thread writes (queue heads and tails, deque
/// top and bottom, counters), and pass <see cref="Value"/> by reference to <see cref="Volatile"/> and
/// <see cref="Interlocked"/>.
/// </summary>
/// <remarks>
/// The struct is 256 bytes: <see cref="Value"/> sits at offset 128, so at least 120 bytes of padding lie on
/// each side of it, which is what it takes to keep it alone in an aligned 128-byte block (x86 fetches lines
/// in adjacent pairs) when the CLR only guarantees 8-byte alignment. It carries no ordering of its own: every
/// access must still say which <see cref="Volatile"/> or <see cref="Interlocked"/> operation it uses and why.
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = 2 * LineSize)]
public struct CachePaddedLong
{
    /// <summary>The size of the block that two threads' hot fields must not share: 128 bytes (two 64-byte lines).</summary>
    public const int LineSize = 128;

    /// <summary>The padded value. Access it through <see cref="Volatile"/> or <see cref="Interlocked"/> by reference.</summary>
    [FieldOffset(LineSize)]
    public long Value;
}

using System.Runtime.InteropServices;

namespace Unjucks.SharedMemory.Tests.Jobs;

/// <summary>128-byte aligned native memory for tests that run the shared structures between threads.</summary>
internal sealed unsafe class NativeBlock : IDisposable
{
    public NativeBlock(long bytes)
    {
        // SAFETY: freshly allocated, owned by this object until Dispose; tests stop all threads before disposing.
        Pointer = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 128);
        NativeMemory.Clear(Pointer, (nuint)bytes);
        Length = bytes;
    }

    public byte* Pointer { get; private set; }

    public long Length { get; }

    public void Dispose()
    {
        if (Pointer != null)
        {
            // SAFETY: allocated by AlignedAlloc in the constructor; no thread uses it any more (test contract).
            NativeMemory.AlignedFree(Pointer);
            Pointer = null;
        }
    }
}

using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Unjucks.SharedMemory.Native;

internal static class FileStat
{
    /// <summary>Owner uid and mode bits of an open file, through fstat(2) (no window between check and use).</summary>
    internal static unsafe (uint Uid, uint Mode) Stat(SafeFileHandle handle)
    {
        bool added = false;
        byte* buffer = stackalloc byte[StatLayout.BufferSize];
        try
        {
            handle.DangerousAddRef(ref added);
            // SAFETY: `buffer` is a 256-byte stack buffer, larger than struct stat on x86_64 (144) and arm64 (128).
            if (LibC.Fstat((int)handle.DangerousGetHandle(), buffer) != 0)
            {
                throw new IOException($"fstat failed with errno {Marshal.GetLastPInvokeError()}.");
            }

            // SAFETY: both offsets lie inside the buffer that fstat just filled.
            return (*(uint*)(buffer + StatLayout.UidOffset), *(uint*)(buffer + StatLayout.ModeOffset));
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }
}

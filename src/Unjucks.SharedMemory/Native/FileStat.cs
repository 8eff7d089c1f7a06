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

    /// <summary>Device and inode of an open descriptor: what a path must still name for a lock on it to count.</summary>
    internal static unsafe (ulong Device, ulong Inode) Identity(int fd)
    {
        byte* buffer = stackalloc byte[StatLayout.BufferSize];
        // SAFETY: as in Stat: the buffer is larger than struct stat; st_dev and st_ino are its first two 8-byte
        // fields on x86_64 and arm64 alike.
        if (LibC.Fstat(fd, buffer) != 0)
        {
            throw new IOException($"fstat failed with errno {Marshal.GetLastPInvokeError()}.");
        }

        return (*(ulong*)buffer, *(ulong*)(buffer + 8));
    }

    /// <summary>Device and inode <paramref name="path"/> names now (not following a final link); null when it names nothing.</summary>
    internal static (ulong Device, ulong Inode)? IdentityOf(string path)
    {
        int fd = LibCFiles.Open(path, LibCFiles.O_NOFOLLOW | LibCFiles.O_PATH | LibCFiles.O_CLOEXEC, 0); // O_RDONLY is 0
        if (fd < 0)
        {
            return null;
        }

        try
        {
            return Identity(fd);
        }
        finally
        {
            LibCFiles.Close(fd);
        }
    }

    /// <summary>Owner uid and mode bits of a path (a folder too), without following a final symbolic link.</summary>
    internal static unsafe (uint Uid, uint Mode) StatNoFollow(string path)
    {
        int fd = LibCFiles.Open(path, LibCFiles.O_NOFOLLOW | LibCFiles.O_PATH | LibCFiles.O_CLOEXEC, 0); // O_RDONLY is 0
        if (fd < 0)
        {
            throw new IOException($"Cannot open '{path}' to check its owner (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            byte* buffer = stackalloc byte[StatLayout.BufferSize];
            // SAFETY: as in Stat: the buffer is larger than struct stat; fd is ours until the close below.
            if (LibC.Fstat(fd, buffer) != 0)
            {
                throw new IOException($"fstat('{path}') failed with errno {Marshal.GetLastPInvokeError()}.");
            }

            return (*(uint*)(buffer + StatLayout.UidOffset), *(uint*)(buffer + StatLayout.ModeOffset)); // SAFETY: inside the filled buffer.
        }
        finally
        {
            LibCFiles.Close(fd);
        }
    }

    /// <summary>The permission bits of a mode word as chmod writes them, e.g. "0755".</summary>
    internal static string OctalMode(uint mode) => "0" + Convert.ToString(mode & 0xFFF, 8);
}

// A per-agent lock file held with flock(LOCK_EX) by the live owner of an agent slot. The kernel releases the
// lock when the owner's descriptors close, i.e. when it exits or is killed, so "can I take it?" answers
// "is the owner dead?" without trusting anything the owner wrote.
using System.Runtime.InteropServices;

namespace Unjucks.SharedMemory.Native;

internal sealed class AgentLockFile : IDisposable
{
    private int _fd;

    private AgentLockFile(int fd) => _fd = fd;

    /// <summary>Opens (creating 0600 if needed) and tries to take the lock; null if a live holder has it.</summary>
    internal static AgentLockFile? TryAcquire(string path)
    {
        int fd = LibCFiles.Open(path, LibCFiles.O_RDWR | LibCFiles.O_CREAT | LibCFiles.O_CLOEXEC, 0b_110_000_000);
        if (fd < 0)
        {
            throw new IOException($"Cannot open agent lock file '{path}': errno {Marshal.GetLastPInvokeError()}.");
        }

        if (TryFlock(fd))
        {
            return new AgentLockFile(fd);
        }

        _ = LibCFiles.Close(fd);
        return null;
    }

    /// <summary>True if no process holds the lock on <paramref name="path"/> right now (probe, then release).</summary>
    internal static bool IsFree(string path)
    {
        int fd = LibCFiles.Open(path, LibCFiles.O_RDWR | LibCFiles.O_CLOEXEC, 0);
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError() == LibCFiles.ENOENT; // no file: nobody ever held it
        }

        bool free = TryFlock(fd);
        // Closing the descriptor releases our probe lock (if we took it).
        _ = LibCFiles.Close(fd);
        return free;
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1); // makes a double Dispose close only once
        if (fd >= 0)
        {
            _ = LibCFiles.Close(fd); // drops the flock
        }
    }

    /// <summary>flock(LOCK_EX|LOCK_NB), retried on EINTR: true when taken, false when another descriptor holds it.</summary>
    internal static bool TryFlock(int fd)
    {
        while (true)
        {
            if (LibC.Flock(fd, LibC.LOCK_EX | LibC.LOCK_NB) == 0)
            {
                return true;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == LibC.EAGAIN)
            {
                return false;
            }

            if (errno != LibC.EINTR)
            {
                throw new IOException($"flock(LOCK_EX|LOCK_NB) failed with errno {errno}.");
            }
        }
    }
}

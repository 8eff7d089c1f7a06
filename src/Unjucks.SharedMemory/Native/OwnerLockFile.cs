// A lock file that says who holds it: flock(LOCK_EX) by the live holder, with the holder's pid written inside for
// the message of whoever is refused. The kernel drops the lock when the holder's descriptor closes (exit, kill), so
// a killed holder never blocks the next one, and nothing the holder wrote has to be trusted to decide that.
//
// The holder removes the file when it lets go, which races with an acquirer that opened the old file just before:
// that acquirer would lock an unlinked inode while a third process creates and locks a new file at the same path,
// and both would think they hold the lock. So after locking, an acquirer checks that the path still names the
// inode it locked (fstat of its descriptor against the path's), and starts over when it does not.
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Unjucks.SharedMemory.Native;

internal sealed class OwnerLockFile : IDisposable
{
    private const int MaxAttempts = 64;
    private readonly string _path;
    private SafeFileHandle? _handle;

    private OwnerLockFile(string path, SafeFileHandle handle)
    {
        _path = path;
        _handle = handle;
    }

    /// <summary>Takes the lock on <paramref name="path"/> (creating the file 0600) and writes this process's pid
    /// into it; null when a live process holds it, with that process's pid in <paramref name="holder"/> (0 when it
    /// has not written it yet).</summary>
    /// <exception cref="UnauthorizedAccessException">The folder does not let this user create the file.</exception>
    /// <exception cref="IOException">Any other failure to open or lock it.</exception>
    internal static OwnerLockFile? TryAcquire(string path, out int holder)
    {
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            int fd = LibCFiles.Open(path, LibCFiles.O_RDWR | LibCFiles.O_CREAT | LibCFiles.O_CLOEXEC, 0b_110_000_000);
            if (fd < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw errno is LibC.EPERM or LibCFiles.EACCES or LibCFiles.EROFS
                    ? new UnauthorizedAccessException($"Cannot create '{path}' (errno {errno}): the folder is not writable by this user.")
                    : new IOException($"Cannot open lock file '{path}' (errno {errno}).");
            }

            var handle = new SafeFileHandle(fd, ownsHandle: true);
            if (!AgentLockFile.TryFlock(fd))
            {
                holder = ReadHolder(handle);
                handle.Dispose();
                return null;
            }

            if (FileStat.IdentityOf(path) != FileStat.Identity(fd))
            {
                handle.Dispose(); // the file was removed (or replaced) between our open and our lock: start over.
                continue;
            }

            var pid = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
            RandomAccess.SetLength(handle, 0);
            RandomAccess.Write(handle, pid, 0);
            holder = Environment.ProcessId;
            return new OwnerLockFile(path, handle);
        }

        throw new IOException($"Lock file '{path}' kept being replaced while taking it ({MaxAttempts} attempts); is another program deleting it?");
    }

    /// <summary>Removes the file and releases the lock (in that order: see the file's comment).</summary>
    public void Dispose()
    {
        var handle = Interlocked.Exchange(ref _handle, null); // a second Dispose does nothing
        if (handle is null)
        {
            return;
        }

        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
            // Left behind, it still holds no lock: the next acquirer locks and reuses it.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }

        handle.Dispose(); // closing the descriptor drops the flock
    }

    private static int ReadHolder(SafeFileHandle handle)
    {
        Span<byte> buffer = stackalloc byte[16];
        int read = RandomAccess.Read(handle, buffer, 0);
        return int.TryParse(Encoding.ASCII.GetString(buffer[..read]).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : 0;
    }
}

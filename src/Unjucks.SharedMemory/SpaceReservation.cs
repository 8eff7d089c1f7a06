// Every file that will be mapped gets its space reserved with posix_fallocate before mmap. A file sized with
// SetLength alone is sparse: on a full tmpfs the first store to a page with nothing behind it raises SIGBUS, which
// ends the process with no message and leaves its files behind. Reserved first, a full /dev/shm is an IOException.
using System.Globalization;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory;

/// <summary>Reserves a new file's space before it is mapped.</summary>
internal static class SpaceReservation
{
    private const int ENOSPC = 28;
    private const int EINVAL = 22;
    private const int EOPNOTSUPP = 95;

    /// <summary>Gives <paramref name="stream"/>'s file <paramref name="size"/> bytes, all backed by storage.</summary>
    /// <param name="stream">The new file, open for writing.</param>
    /// <param name="size">Its length in bytes.</param>
    /// <param name="path">The file, for the message.</param>
    /// <param name="what">What the file is ("region", "session file"), for the message.</param>
    /// <param name="remedy">What the user can do, e.g. which setting names another folder.</param>
    /// <exception cref="IOException">No space: the message says how much was needed and how much is free.</exception>
    internal static void Reserve(FileStream stream, long size, string path, string what, string remedy)
    {
        int rc = LibCSession.PosixFallocate((int)stream.SafeFileHandle.DangerousGetHandle(), 0, size);
        if (rc == 0)
        {
            return;
        }

        if (rc == ENOSPC)
        {
            string folder = Path.GetDirectoryName(path) ?? path;
            throw new IOException(string.Create(CultureInfo.InvariantCulture,
                $"No space for the {what} '{path}': it needs {Format(size)} and {folder} has {FreeText(folder)}. Free space (e.g. 'unjucks-perf inspect --cleanup'), make the {what} smaller, or {remedy}."));
        }

        if (rc is EOPNOTSUPP or EINVAL)
        {
            stream.SetLength(size); // the file system cannot reserve (not tmpfs or ext4): sized sparsely, as before
            return;
        }

        throw new IOException(string.Create(CultureInfo.InvariantCulture, $"posix_fallocate('{path}', {size}) failed with error {rc}."));
    }

    private static string FreeText(string folder)
    {
        try
        {
            return Format(new DriveInfo(folder).AvailableFreeSpace) + " free";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return "too little free";
        }
    }

    private static string Format(long bytes) => bytes >= 1 << 20
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB ({bytes:N0} bytes)")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes:N0} bytes");
}

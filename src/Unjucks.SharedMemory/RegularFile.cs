// Opening an existing shared file (a region, a session file): only a regular file is ever opened. The path is
// checked with lstat first (O_PATH opens nothing: no FIFO blocks, no device acts), then opened with O_NOFOLLOW,
// and the descriptor is checked again with fstat, so a file swapped for a link or a FIFO in between is refused too.
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory;

/// <summary>Opens existing files for mapping, refusing links, FIFOs, sockets, devices and folders.</summary>
internal static class RegularFile
{
    private const int O_NONBLOCK = 0x800; // never wait on whatever the path turns out to be
    private const int ELOOP = 40;
    private const uint TypeMask = 0xF000;
    private const uint RegularType = 0x8000;

    /// <summary>Opens <paramref name="path"/> read-write; the stream owns the descriptor.</summary>
    /// <param name="path">The file.</param>
    /// <param name="what">What the file should be, for messages ("Region file", "Session file").</param>
    /// <exception cref="FileNotFoundException">Nothing is there.</exception>
    /// <exception cref="SharedRegionFormatException">A link, FIFO, socket, device or folder is there.</exception>
    /// <exception cref="UnauthorizedAccessException">This user may not open it, or it is another user's or writable by others.</exception>
    internal static FileStream OpenExisting(string path, string what)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Unjucks.SharedMemory needs Linux (futex, flock, /proc).");
        }

        uint mode;
        try
        {
            mode = FileStat.StatNoFollow(path).Mode;
        }
        catch (IOException)
        {
            throw Missing(path, what);
        }

        RefuseUnlessRegular(path, what, mode);
        int fd = LibCFiles.Open(path, LibCFiles.O_RDWR | LibCFiles.O_NOFOLLOW | O_NONBLOCK | LibCFiles.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                LibCFiles.ENOENT => Missing(path, what),
                ELOOP => new SharedRegionFormatException($"{what} '{path}' is a symbolic link, not a regular file; remove it."),
                LibCFiles.EACCES or LibCFiles.EROFS => new UnauthorizedAccessException($"{what} '{path}' cannot be opened for writing ({Marshal.GetPInvokeErrorMessage(errno)})."),
                _ => new IOException($"{what} '{path}' cannot be opened: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})."),
            };
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var (owner, opened) = FileStat.Stat(handle); // the opened descriptor: no check-then-use window
            RefuseUnlessRegular(path, what, opened); // swapped since the lstat
            RefuseUnlessPrivate(path, what, owner, opened);
            return new FileStream(handle, FileAccess.ReadWrite);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>What is at <paramref name="path"/> when it is not a regular file ("FIFO", "symbolic link", ...), without
    /// following a link or opening it; null for a regular file or nothing at all.</summary>
    internal static string? NonRegularKindAt(string path)
    {
        try
        {
            return NonRegularKind(FileStat.StatNoFollow(path).Mode);
        }
        catch (IOException)
        {
            return null; // gone: nothing to skip
        }
    }

    /// <summary>The kind of a non-regular file for messages, or null for a regular one.</summary>
    internal static string? NonRegularKind(uint mode) => (mode & TypeMask) switch
    {
        RegularType => null,
        0x1000 => "FIFO",
        0x2000 => "character device",
        0x4000 => "folder",
        0x6000 => "block device",
        0xA000 => "symbolic link",
        0xC000 => "socket",
        _ => "special file",
    };

    private static void RefuseUnlessRegular(string path, string what, uint mode)
    {
        if (NonRegularKind(mode) is { } kind)
        {
            throw new SharedRegionFormatException($"{what} '{path}' is a {kind}, not a regular file, so it cannot be one; remove it.");
        }
    }

    /// <summary>A shared file must be this user's and writable by nobody else: another user could tamper with it.</summary>
    private static void RefuseUnlessPrivate(string path, string what, uint owner, uint mode)
    {
        uint me = LibC.GetEuid();
        if (owner != me)
        {
            throw new UnauthorizedAccessException(
                $"{what} '{path}' is owned by uid {owner}, not by this process's uid {me}; a file shared with another user could be tampered with. Use a folder of your own or delete the file.");
        }

        if ((mode & 0x12) != 0) // 0022: group or others may write
        {
            throw new UnauthorizedAccessException(
                $"{what} '{path}' is writable by group or others (mode {FileStat.OctalMode(mode)}); another user could corrupt it. Run 'chmod 600 {path}' or delete it.");
        }
    }

    private static FileNotFoundException Missing(string path, string what) => new($"{what} '{path}' does not exist.", path);
}

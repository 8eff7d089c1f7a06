// Raw libc entry points used by the shared region. Linux only (x86_64 and arm64); every call sets errno,
// read with Marshal.GetLastPInvokeError() right after the call.
using System.Runtime.InteropServices;

namespace Unjucks.SharedMemory.Native;

/// <summary>A relative timeout for futex(2): seconds and nanoseconds (64-bit <c>struct timespec</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Timespec
{
    public long Seconds;
    public long Nanoseconds;
}

internal static unsafe partial class LibC
{
    private const string Library = "libc";

    internal const int EPERM = 1;
    internal const int ESRCH = 3;
    internal const int EINTR = 4;
    internal const int EAGAIN = 11;      // also EWOULDBLOCK
    internal const int ETIMEDOUT = 110;

    internal const int LOCK_SH = 1;
    internal const int LOCK_EX = 2;
    internal const int LOCK_NB = 4;
    internal const int LOCK_UN = 8;

    /// <summary>syscall(2). Variadic in C; on Linux x86_64 and arm64 the integer arguments travel in the
    /// same registers as for a fixed-argument call, and glibc's syscall stub ignores AL.</summary>
    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall6(long number, int* uaddr, int futexOp, int val, Timespec* timeout, int* uaddr2, int val3);

    [LibraryImport(Library, EntryPoint = "flock", SetLastError = true)]
    internal static partial int Flock(int fd, int operation);

    [LibraryImport(Library, EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);

    [LibraryImport(Library, EntryPoint = "geteuid", SetLastError = true)]
    internal static partial uint GetEuid();

    /// <summary>fstat(2) into a raw buffer; <see cref="StatLayout"/> says where st_mode and st_uid sit.</summary>
    [LibraryImport(Library, EntryPoint = "fstat", SetLastError = true)]
    internal static partial int Fstat(int fd, byte* statBuffer);
}

/// <summary>Offsets of the two <c>struct stat</c> fields we read, per architecture (glibc, 64-bit).</summary>
internal static class StatLayout
{
    /// <summary>Size of the buffer handed to fstat; larger than struct stat on every supported arch.</summary>
    internal const int BufferSize = 256;

    // x86_64: st_dev(8) st_ino(8) st_nlink(8) st_mode(4) st_uid(4) ...
    // arm64 (asm-generic): st_dev(8) st_ino(8) st_mode(4) st_nlink(4) st_uid(4) ...
    internal static int ModeOffset => RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;

    internal static int UidOffset => RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 28 : 24;
}

/// <summary>open(2)/close(2) for the per-agent lock files: opened by hand so that no runtime-level advisory
/// locking (the BCL's FileShare emulation takes flock itself) interferes with our own flock.</summary>
internal static unsafe partial class LibCFiles
{
    internal const int O_RDWR = 2;
    internal const int O_CREAT = 0x40;         // same value on x86_64 and asm-generic (arm64)
    internal const int O_CLOEXEC = 0x80000;    // same value on x86_64 and asm-generic (arm64)
    internal const int O_NOFOLLOW = 0x20000;   // same value on x86_64 and asm-generic (arm64)
    internal const int O_PATH = 0x200000;      // same value on x86_64 and asm-generic (arm64)
    internal const int ENOENT = 2;
    internal const int EACCES = 13;
    internal const int EROFS = 30;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);
}

/// <summary>Space reservation and process calls used by agent sessions.</summary>
internal static partial class LibCSession
{
    internal const int PR_SET_PDEATHSIG = 1;
    internal const int SIGKILL = 9;

    /// <summary>posix_fallocate(3): returns 0 or an error number (it does not set errno).</summary>
    [LibraryImport("libc", EntryPoint = "posix_fallocate")]
    internal static partial int PosixFallocate(int fd, long offset, long length);

    /// <summary>prctl(2) with one argument (PR_SET_PDEATHSIG takes the signal).</summary>
    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    internal static partial int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    [LibraryImport("libc", EntryPoint = "getppid")]
    internal static partial int GetPpid();
}

// The folders the project keeps shared files in (the per-user root under /dev/shm, a region's .agents folder, a
// session's folder, a job's claims folder): created 0700 by mkdir then chmod, so the umask neither widens nor
// narrows them, and accepted only when lstat shows a real directory (not a link) owned by this user.
using System.Globalization;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory;

/// <summary>Creates and checks the project's private folders.</summary>
internal static class PrivateDirectory
{
    internal const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The environment variable that names the region root instead of the per-user default.</summary>
    internal const string RootVariable = "UNJUCKS_REGION_DIR";

    private const uint TypeMask = 0xF000; // S_IFMT
    private const uint DirectoryType = 0x4000; // S_IFDIR
    private const uint LinkType = 0xA000; // S_IFLNK
    private const uint GroupOrOther = 0x3F; // 0077
    private const uint GroupOrOtherWrite = 0x12; // 0022

    /// <summary>
    /// A folder whose name the project chose (the per-user default root, or one inside it): created 0700 if missing,
    /// parents included; refused when it is a link, not a folder, or another user's; narrowed to 0700, with a
    /// warning on standard error, when it is ours and open to group or others.
    /// </summary>
    /// <param name="path">The folder.</param>
    /// <param name="remedy">What the user can do instead when the folder is refused (e.g. which setting to change).</param>
    /// <exception cref="UnauthorizedAccessException">A link, not a folder, or another user's.</exception>
    internal static void EnsureOwn(string path, string remedy) => Ensure(path, narrow: true, remedy);

    /// <summary>
    /// A folder the caller named (an option): created 0700 if missing, parents included; an existing one must be a
    /// real folder of this user that group and others cannot write to. It is never changed: it is the caller's.
    /// </summary>
    /// <param name="path">The folder.</param>
    /// <param name="remedy">What the user can do instead when the folder is refused.</param>
    /// <exception cref="UnauthorizedAccessException">A link, not a folder, another user's, or writable by others.</exception>
    internal static void EnsureGiven(string path, string remedy) => Ensure(path, narrow: false, remedy);

    /// <summary>The per-user root: <c>UNJUCKS_REGION_DIR</c> when set, else <c>/dev/shm/unjucks-&lt;euid&gt;</c> (the
    /// temporary folder when there is no /dev/shm).</summary>
    internal static string DefaultRoot()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable(RootVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Path.TrimEndingDirectorySeparator(Path.GetFullPath(fromEnvironment));
        }

        string parent = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        return Path.Combine(parent, "unjucks-" + LibC.GetEuid().ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The folder to keep shared files in: <paramref name="given"/> (checked as <see cref="EnsureGiven"/>), else the
    /// root from <c>UNJUCKS_REGION_DIR</c> (the same), else the per-user default (<see cref="EnsureOwn"/>).
    /// </summary>
    /// <param name="given">The folder an option names, or null.</param>
    /// <param name="setting">The option, for the messages (e.g. "SharedRegionOptions.Directory").</param>
    /// <returns>The full path of the folder, which exists and is private.</returns>
    internal static string Resolve(string? given, string setting)
    {
        string remedy = $"set {setting} or {RootVariable} to a folder of your own";
        if (given is not null)
        {
            string path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(given));
            EnsureGiven(path, remedy);
            return path;
        }

        string root = DefaultRoot();
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(RootVariable)))
        {
            EnsureOwn(root, remedy);
        }
        else
        {
            EnsureGiven(root, remedy);
        }

        return root;
    }

    private static void Ensure(string path, bool narrow, string remedy)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Unjucks.SharedMemory needs Linux (futex, flock, /proc).");
        }

        path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (!Exists(path))
        {
            string? parent = Path.GetDirectoryName(path);
            if (parent is not null && !Exists(parent))
            {
                Ensure(parent, narrow: false, remedy);
            }

            Create(path);
        }

        Check(path, narrow, remedy);
    }

    /// <summary>mkdir 0700, then chmod 0700: the umask applies to mkdir only.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static void Create(string path)
    {
        Directory.CreateDirectory(path, Mode); // a racing creator is fine: the check below holds either way
        var (uid, mode) = FileStat.StatNoFollow(path);
        if (uid == LibC.GetEuid() && (mode & TypeMask) == DirectoryType && (mode & 0xFFF) != 0x1C0)
        {
            File.SetUnixFileMode(path, Mode);
        }
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static void Check(string path, bool narrow, string remedy)
    {
        var (uid, mode) = FileStat.StatNoFollow(path);
        if ((mode & TypeMask) == LinkType)
        {
            throw new UnauthorizedAccessException($"'{path}' is a symbolic link, not a folder; another user could point it anywhere. Remove the link, or {remedy}.");
        }

        if ((mode & TypeMask) != DirectoryType)
        {
            throw new UnauthorizedAccessException($"'{path}' is not a folder. Remove it, or {remedy}.");
        }

        uint me = LibC.GetEuid();
        if (uid != me)
        {
            throw new UnauthorizedAccessException(
                $"Folder '{path}' belongs to {UserName(uid)}, not to you ({UserName(me)}), so it cannot be private to you. Ask its owner to remove it, or {remedy}.");
        }

        if (narrow && (mode & GroupOrOther) != 0)
        {
            File.SetUnixFileMode(path, Mode);
            Console.Error.WriteLine($"unjucks: warning: folder '{path}' was mode {FileStat.OctalMode(mode)}, open to other users; narrowed it to 0700.");
        }
        else if (!narrow && (mode & GroupOrOtherWrite) != 0)
        {
            throw new UnauthorizedAccessException(
                $"Folder '{path}' is writable by group or others (mode {FileStat.OctalMode(mode)}), so another user could plant files there. Run 'chmod 700 {path}', or {remedy}.");
        }
    }

    private static bool Exists(string path)
    {
        try
        {
            _ = FileStat.StatNoFollow(path);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>"uid 1000 (alice)" when /etc/passwd names the uid, else "uid 1000".</summary>
    internal static string UserName(uint uid)
    {
        string id = uid.ToString(CultureInfo.InvariantCulture);
        try
        {
            foreach (var line in File.ReadLines("/etc/passwd"))
            {
                var fields = line.Split(':');
                if (fields.Length > 2 && fields[2] == id)
                {
                    return $"uid {id} ({fields[0]})";
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No passwd file to read: the number alone.
        }

        return "uid " + id;
    }

}
